"""A CSV file as a stream of rows: read in 64 KiB pieces, split into lines, each line decoded on its own.

What ``connectors.csv_drop`` builds its pages from. Memory holds one row (at most ``max_row_bytes``) and one
read, never the file. Each row knows where it starts and ends in the file and carries the SHA-256 of every
byte before it, so a cursor can name a place in the file and check, on a later run, that the file up to
there is still the one that was read.

Lines end at ``\\r\\n``, ``\\n`` or a lone ``\\r`` (old Mac Excel), as ``csv`` expects with ``newline=""``. In
UTF-8 and in every ASCII-compatible fallback no byte of a character is ``\\r`` or ``\\n``, so splitting the
bytes there never cuts a character, and each line can be decoded by itself.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

CHUNK = 64 * 1024
BOM = b"\xef\xbb\xbf"
UTF8 = "utf-8"
UNDECODABLE = "undecodable"
"""A line that is neither UTF-8 nor the fallback: kept byte for byte (as latin-1) for a person to see."""
PREVIEW = 200
_LINE_END = re.compile(rb"[\r\n]")
_CR, _LF = 13, 10


class RowTooLarge(Exception):
    """Raised inside ``csv.reader`` when a row's lines pass ``max_row_bytes``; the reader skips that row."""


@dataclass(frozen=True)
class Row:
    """One row of the file.

    ``number`` is the row a spreadsheet shows: the header is 1, a blank line counts, a quoted multi-line row
    is one. ``cells`` is None when the row could not be read (``problem`` says why, ``preview`` shows its
    start). ``encoding`` is None for a row of ASCII only (it reads the same in every encoding), else
    ``utf-8``, the fallback, or ``undecodable``. ``complete`` is False when the file ends inside the row (no
    line end after it, or inside a quote): a writer may not have finished it. ``sha_before`` is a hashlib
    object over bytes ``[0, start)``.
    """

    number: int
    cells: list[str] | None
    start: int
    end: int
    encoding: str | None
    complete: bool
    sha_before: Any
    problem: str = ""
    preview: str = ""


class RowReader:
    """The rows of an open binary file, from its first byte; it seeks before each read, so two readers can
    share one handle (a second one reads the part already read again, see ``csv_drop``)."""

    def __init__(self, handle: BinaryIO, *, fallback: str | None, max_row_bytes: int) -> None:
        self._handle = handle
        self._fallback = fallback
        self._max = max_row_bytes
        self._buffer, self._i, self._read_to, self._eof = b"", 0, 0, False
        self.position = 0
        """File offset of the next byte not yet handed to ``csv``."""
        self.sha256 = hashlib.sha256()
        """Over bytes ``[0, position)``."""
        self.ends_with_line_end = True
        """Whether the last line read ended with a line end (an empty file counts as ending well)."""
        self.declared_utf8 = False
        """A UTF-8 byte order mark declares the file UTF-8: then no line is decoded with the fallback."""
        self._row_bytes, self._row_encodings, self._ran_out = 0, set(), False

    def rows(self) -> Iterator[Row]:
        # The csv module's own cell limit (128 KiB) would refuse a long note; ours is per row and larger.
        # The limit is process-wide, and only ever raised here.
        csv.field_size_limit(max(csv.field_size_limit(), self._max + 1))
        reader = csv.reader(self, strict=False)
        number = 0
        while True:
            number += 1
            start, before = self.position, self.sha256.copy()
            self._row_bytes, self._row_encodings, self._ran_out = 0, set(), False
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (RowTooLarge, csv.Error) as exc:
                # Start again after the row's first line: an unclosed quote then swallows one line, not the
                # rest of the file. csv.reader starts every row afresh, so it can go on reading.
                problem = (f"the row is longer than {self._max:,} bytes (max_row_bytes): an unclosed quote or "
                           "pasted data; it is not read" if isinstance(exc, RowTooLarge)
                           else f"the row cannot be read as CSV: {exc}")
                preview = self._skip_first_line(start, before)
                yield Row(number, None, start, self.position, self._encoding(), True, before, problem, preview)
                continue
            complete = self.ends_with_line_end and not self._ran_out
            yield Row(number, cells, start, self.position, self._encoding(), complete, before)

    # csv.reader reads its lines from here

    def __iter__(self) -> RowReader:
        return self

    def __next__(self) -> str:
        line = self._line()
        if line is None:
            self._ran_out = True  # csv asked for more inside a row: the file ended inside a quote
            raise StopIteration
        self._row_bytes += len(line)
        if self._row_bytes > self._max:
            raise RowTooLarge
        first = self.position == 0
        self.position += len(line)
        self.sha256.update(line)
        self.ends_with_line_end = line.endswith((b"\n", b"\r"))
        if first and line.startswith(BOM):
            line, self.declared_utf8 = line[len(BOM):], True
        if line.isascii():
            return line.decode("ascii")
        text, encoding = decode_line(line, None if self.declared_utf8 else self._fallback)
        self._row_encodings.add(encoding)
        return text

    def _encoding(self) -> str | None:
        for encoding in (UNDECODABLE, self._fallback, UTF8):
            if encoding in self._row_encodings:
                return encoding
        return None

    def _line(self) -> bytes | None:
        """The next line with its line end (the last may have none); None at the end of the file."""
        while True:
            buffer, i = self._buffer, self._i
            found = _LINE_END.search(buffer, i)
            if found:
                end = found.end()
                if buffer[found.start()] == _CR:
                    if end == len(buffer) and not self._eof:
                        self._fill()  # a \n in the next read belongs to this line end
                        continue
                    if end < len(buffer) and buffer[end] == _LF:
                        end += 1
                self._i = end
                return buffer[i:end]
            if self._eof:
                self._i = len(buffer)
                return buffer[i:] or None
            if len(buffer) - i + self._row_bytes > self._max:
                raise RowTooLarge  # never buffer more of one row than the limit
            self._fill()

    def _fill(self) -> None:
        self._handle.seek(self._read_to)
        data = self._handle.read(CHUNK)
        self._read_to += len(data)
        self._eof = not data
        self._buffer, self._i = self._buffer[self._i:] + data, 0

    def _skip_first_line(self, start: int, before: Any) -> str:
        """Go back to ``start`` and step over one line, however long, keeping only its first bytes to show."""
        self._buffer, self._i, self._read_to, self._eof = b"", 0, start, False
        self.position, self.sha256 = start, before.copy()
        preview, ended = b"", False
        while not ended:
            if self._i >= len(self._buffer):
                self._fill()
                if self._eof:
                    break
            buffer, i = self._buffer, self._i
            found = _LINE_END.search(buffer, i)
            end = found.end() if found else len(buffer)
            self._take(i, end)
            preview = (preview + buffer[i:end])[:PREVIEW]
            ended = found is not None
            if ended and buffer[found.start()] == _CR:
                if self._i >= len(self._buffer):
                    self._fill()
                if self._i < len(self._buffer) and self._buffer[self._i] == _LF:
                    self._take(self._i, self._i + 1)
        self.ends_with_line_end = ended
        self._row_encodings = set()
        return preview.decode(UTF8, "replace").rstrip("\r\n")

    def _take(self, i: int, end: int) -> None:
        self.sha256.update(self._buffer[i:end])
        self.position += end - i
        self._i = end


def decode_line(line: bytes, fallback: str | None) -> tuple[str, str]:
    """UTF-8 first; else the fallback, if there is one; else ``undecodable``, each byte kept as latin-1."""
    try:
        return line.decode(UTF8), UTF8
    except UnicodeDecodeError:
        pass
    if fallback:
        try:
            return line.decode(fallback), fallback
        except UnicodeDecodeError:
            pass
    return line.decode("latin-1"), UNDECODABLE
