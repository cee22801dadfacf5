"""MaildirInbox: the same batches as ImapInbox, read from a Maildir folder or an mbox file (demo, exported mail)."""

from __future__ import annotations

import mailbox as stdlib_mailbox
from collections.abc import Iterator
from pathlib import Path

from connectors.errors import FatalError
from connectors.imap_inbox import (HEAD_BYTES, MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, MailBatch, MailCursor,
                                   header_section)

SYSTEM = "maildir"
PREAMBLE = "preamble"
"""The key of the text an mbox holds before its first ``From `` line: the stdlib skips it, we keep it as a message
(it is mail someone exported, perhaps a message whose separator line was lost), so nothing in the file is dropped."""
MAX_PREAMBLE_BYTES = 25_000_000


class MaildirInbox:
    """Read-only. Messages come in a stable order (by file name in new/ and cur/, or by position in an mbox); the store's
    dedupe on Message-ID plus content hash makes re-reading harmless, so there is no cursor to keep."""

    def __init__(self, path: Path | str, *, batch_size: int = 100, max_message_bytes: int = MAX_MESSAGE_BYTES,
                 max_batch_bytes: int = MAX_BATCH_BYTES, name: str = "maildir") -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        self.max_message_bytes, self.max_batch_bytes = max_message_bytes, max_batch_bytes
        self.name = name
        self.commands = 0

    def kind(self) -> str:
        if (self.path / "cur").is_dir() or (self.path / "new").is_dir():
            return "maildir"
        if self.path.is_file():
            return "mbox"
        raise FatalError(f"{self.path} is neither a Maildir folder (with cur/ and new/) nor an mbox file",
                         system=SYSTEM, operation="open")

    def _keys(self) -> list[tuple[str, Path | str]]:
        if self.kind() == "maildir":
            files = [p for sub in ("new", "cur") if (self.path / sub).is_dir() for p in (self.path / sub).iterdir()
                     if p.is_file() and not p.name.startswith(".")]
            return sorted(((p.name, p) for p in files), key=lambda item: item[0])
        box = stdlib_mailbox.mbox(self.path, create=False)
        try:
            keys: list[tuple[str, Path | str]] = [(str(key), key) for key in box.keys()]
        finally:
            box.close()
        return ([(PREAMBLE, PREAMBLE)] if self._preamble() else []) + keys

    def _preamble(self) -> bytes:
        """The mbox's bytes before its first ``From `` line, when they hold more than blank lines: at most
        ``MAX_PREAMBLE_BYTES`` (a file with no separator at all is one huge preamble), or one byte over
        ``max_message_bytes`` when that is less (enough to know it is over the cap). Lines are read with a
        bound too: a file without newlines is one endless line."""
        limit = min(MAX_PREAMBLE_BYTES, self.max_message_bytes + 1)
        kept, size = [], 0
        with self.path.open("rb") as handle:
            while size < limit:
                line = handle.readline(limit - size)
                if not line or line.startswith(b"From "):
                    break
                kept.append(line)
                size += len(line)
        text = b"".join(kept)
        return text if text.strip() else b""

    def fetch_new(self, folder: str, cursor: MailCursor | None) -> Iterator[MailBatch]:
        """Every message, in batches of at most ``batch_size`` messages and ``max_batch_bytes`` bytes (at least
        one message each); ``folder`` is only a label here (a Maildir folder is one folder). A message over
        ``max_message_bytes`` is read as its header section only (``MailBatch.over_cap``): each message's size
        is known before it is read, so memory holds one batch, never the export."""
        keys = self._keys()
        box = stdlib_mailbox.mbox(self.path, create=False) if self.kind() == "mbox" else None
        try:
            messages: list[tuple[int, bytes]] = []
            over: list[tuple[int, int]] = []
            weight = 0
            for position, (_, key) in enumerate(keys, start=1):
                raw, size = self._read(box, key)
                if messages and (len(messages) >= self.batch_size or weight + len(raw) > self.max_batch_bytes):
                    yield MailBatch(folder, tuple(messages), MailCursor(0, position - 1), over_cap=tuple(over))
                    messages, over, weight = [], [], 0
                messages.append((position, raw))
                weight += len(raw)
                if size > self.max_message_bytes:
                    over.append((position, size))
            if messages:
                yield MailBatch(folder, tuple(messages), MailCursor(0, len(keys)), over_cap=tuple(over))
        finally:
            if box is not None:
                box.close()

    def _read(self, box: stdlib_mailbox.mbox | None, key: Path | str) -> tuple[bytes, int]:
        """The message's bytes and its full size: all of it within the cap, else its header section only."""
        cap, head = self.max_message_bytes, min(HEAD_BYTES, self.max_message_bytes)
        if box is None:
            path = Path(key)
            size = path.stat().st_size
            if size <= cap:
                return path.read_bytes(), size
            with path.open("rb") as handle:
                return header_section(handle.read(head), head), size
        if key == PREAMBLE:
            preamble = self._preamble()
            return (preamble, len(preamble)) if len(preamble) <= cap else (header_section(preamble, head),
                                                                           len(preamble))
        handle = box.get_file(key)
        try:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(0)
            return (handle.read(), size) if size <= cap else (header_section(handle.read(head), head), size)
        finally:
            handle.close()

    def move_processed(self, folder: str, uids: list[int], target: str) -> None:
        """An exported mailbox is never changed."""

    def close(self) -> None:
        pass

    def __enter__(self) -> "MaildirInbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
