"""A folder of CSV files as a source: every row delivered, grouped by job, values left as typed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.errors import FatalError
from connectors.source_paging import SourceJob, SourcePage

SOURCE = "csv"
JOB_ID_COLUMN = "job_id"
EXTRA_CELLS = "__extra__"
"""Key under which a row keeps the cells it has beyond the header: the mapping reports them, we keep them."""


@dataclass(frozen=True)
class _File:
    name: str
    sha256: str
    text: str
    encoding: str


class CsvDropSource:
    """Reads ``*.csv`` in ``folder`` (by name), never writes, moves or renames anything there.

    The cursor is ``{"files": {name: sha256}}``: the files delivered in full. A file whose name and
    content are in it is skipped, so a quiet day costs one hash per file; a changed file is delivered
    again whole (landing dedupes by content). Hidden files (``.name.csv``) are in-flight uploads and wait.
    """

    def __init__(self, folder: Path, *, name: str = SOURCE, page_size: int = 100) -> None:
        self.folder = Path(folder)
        self.name = name
        self.page_size = max(1, page_size)

    def fetch_pages(self, *, cursor: str | None) -> Iterator[SourcePage]:
        """Pages of jobs from new or changed files; each page's cursor covers the files finished before it ends."""
        delivered = _read_cursor(cursor)
        paths = self._list_files()
        # Only files the cursor names are hashed up front; a new file is hashed once, when it is read.
        done = {p.name: delivered[p.name] for p in paths if p.name in delivered and delivered[p.name] == self._hash(p)}
        for path in paths:
            if path.name in done:
                continue
            file = self._read_file(path)
            jobs = list(_jobs_in(file))
            chunks = [jobs[i : i + self.page_size] for i in range(0, len(jobs), self.page_size)] or [[]]
            for index, chunk in enumerate(chunks):
                if index == len(chunks) - 1:
                    done[file.name] = file.sha256
                yield SourcePage(jobs=tuple(chunk), next_cursor=_write_cursor(done))

    def _list_files(self) -> list[Path]:
        if not self.folder.is_dir():
            raise FatalError(
                f"CSV drop folder {str(self.folder)!r} does not exist or is not a folder",
                system=self.name,
                operation="list files",
            )
        try:
            entries = list(self.folder.iterdir())
        except OSError as exc:
            raise FatalError(f"cannot list {self.folder}: {exc.strerror or exc}", system=self.name) from exc
        wanted = (p for p in entries if p.suffix.lower() == ".csv" and not p.name.startswith(".") and p.is_file())
        return sorted(wanted, key=lambda p: p.name)

    def _hash(self, path: Path) -> str:
        return hashlib.sha256(self._read_bytes(path)).hexdigest()

    def _read_file(self, path: Path) -> _File:
        data = self._read_bytes(path)
        text, encoding = _decode(data)
        return _File(name=path.name, sha256=hashlib.sha256(data).hexdigest(), text=text, encoding=encoding)

    def _read_bytes(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            message = f"cannot read {path.name}: {exc.strerror or exc}"
            raise FatalError(message, system=self.name, operation="read file") from exc


def _decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) first; a spreadsheet saved on Windows is cp1252, and says nothing.

    A file that is not UTF-8 throughout is decoded line by line: rows appended by two programs (one UTF-8,
    one cp1252) each read as written, and the encoding says ``utf-8+cp1252``. A UTF-8 character never holds
    a newline byte, so splitting on it never cuts one.
    """
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    lines, used = [], []
    for line in data.removeprefix(b"\xef\xbb\xbf").splitlines(keepends=True):
        text, encoding = _decode_line(line)
        lines.append(text)
        if not line.isascii() and encoding not in used:  # ASCII reads the same in all three
            used.append(encoding)
    return "".join(lines), "+".join(sorted(used, key=("utf-8", "cp1252", "latin-1").index))


def _decode_line(line: bytes) -> tuple[str, str]:
    for encoding in ("utf-8", "cp1252"):
        try:
            return line.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    # cp1252 leaves five bytes undefined; latin-1 maps every byte, so no row is lost for a stray one.
    return line.decode("latin-1"), "latin-1"


def _jobs_in(file: _File) -> Iterator[SourceJob]:
    """Group rows by job id in order of first appearance; a row without a job id is a job of its own."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row_number, values in _rows(file.text):
        job_id = (values.get(JOB_ID_COLUMN) or "").strip()
        key = job_id or f"{file.name}#row{row_number}"
        groups.setdefault(key, []).append({"row": row_number, "values": values})
    for key, rows in groups.items():
        payload: dict[str, Any] = {"file": file.name, "encoding": file.encoding, "rows": rows}
        locator = f"{file.name}:{_describe_rows([r['row'] for r in rows])}"
        yield SourceJob(source=SOURCE, stream=file.name, external_id=key, locator=locator, payload=payload)


def _rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(row number, {column: raw string})`` as a spreadsheet numbers rows: the header is row 1.

    ``csv.DictReader`` skips blank lines without counting them, so its numbers drift from what a person
    sees in Excel; this reads with ``csv.reader`` and zips the header the same way DictReader does
    (a short row leaves columns as ``None``, extra cells go under ``__extra__``). A row with every cell
    empty says nothing and is skipped, as a blank line is.
    """
    # The csv module refuses a cell over 128 KiB (a long note pasted from an email); no cell can be longer
    # than the file, so the file's length is a limit that never drops a row. The limit is process-wide
    # and only ever raised here.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    for row_number, cells in enumerate(reader, start=1):
        if header is None:
            header = [cell.strip() for cell in cells]
            continue
        if not any(cell.strip() for cell in cells):
            continue
        values: dict[str, Any] = {column: None for column in header}
        values.update(zip(header, cells))
        if len(cells) > len(header):
            values[EXTRA_CELLS] = cells[len(header) :]
        yield row_number, values


def _describe_rows(numbers: list[int]) -> str:
    """``rows 2-5`` or ``rows 2-3, 9`` or ``row 7``."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    text = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)
    return f"row {text}" if len(numbers) == 1 else f"rows {text}"


def _read_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        files = json.loads(cursor)["files"]
        if isinstance(files, dict) and all(isinstance(v, str) for v in files.values()):
            return dict(files)
    except (ValueError, KeyError, TypeError):
        pass
    raise FatalError(
        f"CSV cursor {cursor[:80]!r} is not ours (expected {{\"files\": {{name: sha256}}}}); "
        "clear it to deliver every file again",
        system=SOURCE,
        operation="read cursor",
    )


def _write_cursor(files: dict[str, str]) -> str:
    return json.dumps({"files": dict(sorted(files.items()))}, separators=(",", ":"))
