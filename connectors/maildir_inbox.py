"""MaildirInbox: the same batches as ImapInbox, read from a Maildir folder or an mbox file (demo, exported mail)."""

from __future__ import annotations

import mailbox as stdlib_mailbox
from collections.abc import Iterator
from pathlib import Path

from connectors.errors import FatalError
from connectors.imap_inbox import MailBatch, MailCursor

SYSTEM = "maildir"
PREAMBLE = "preamble"
"""The key of the text an mbox holds before its first ``From `` line: the stdlib skips it, we keep it as a message
(it is mail someone exported, perhaps a message whose separator line was lost), so nothing in the file is dropped."""
MAX_PREAMBLE_BYTES = 25_000_000


class MaildirInbox:
    """Read-only. Messages come in a stable order (by file name in new/ and cur/, or by position in an mbox); the store's
    dedupe on Message-ID plus content hash makes re-reading harmless, so there is no cursor to keep."""

    def __init__(self, path: Path | str, *, batch_size: int = 100, name: str = "maildir") -> None:
        self.path = Path(path)
        self.batch_size = batch_size
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
        """The mbox's bytes before its first ``From `` line, when they hold more than blank lines (at most
        ``MAX_PREAMBLE_BYTES``: a file with no separator at all is one huge preamble)."""
        kept, size = [], 0
        with self.path.open("rb") as handle:
            for line in handle:
                if line.startswith(b"From "):
                    break
                size += len(line)
                if size > MAX_PREAMBLE_BYTES:
                    break
                kept.append(line)
        text = b"".join(kept)
        return text if text.strip() else b""

    def fetch_new(self, folder: str, cursor: MailCursor | None) -> Iterator[MailBatch]:
        """Every message, in batches; ``folder`` is only a label here (a Maildir folder is one folder)."""
        keys = self._keys()
        box = stdlib_mailbox.mbox(self.path, create=False) if self.kind() == "mbox" else None
        try:
            for start in range(0, len(keys), self.batch_size):
                chunk = keys[start:start + self.batch_size]
                messages = tuple((start + i + 1, self._read(box, key)) for i, (_, key) in enumerate(chunk))
                yield MailBatch(folder, messages, MailCursor(0, start + len(chunk)))
        finally:
            if box is not None:
                box.close()

    def _read(self, box: stdlib_mailbox.mbox | None, key: Path | str) -> bytes:
        if box is None:
            return Path(key).read_bytes()
        if key == PREAMBLE:
            return self._preamble()
        return box.get_bytes(key)

    def move_processed(self, folder: str, uids: list[int], target: str) -> None:
        """An exported mailbox is never changed."""

    def close(self) -> None:
        pass

    def __enter__(self) -> "MaildirInbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
