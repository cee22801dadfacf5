"""The files mail ingest keeps: each raw message and each attachment, named by its content hash, written once."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from mappings.mail_parse import ParsedMessage

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


def keep_file(folder: Path, name: str, content: bytes) -> Path:
    """Write a file named by its content hash once; an existing one already holds these bytes.

    Written as ``<name>.<pid>.partial`` and renamed, so a file under its final name is always whole, even when two
    parsing workers keep the same photo at once. Plain ``os`` calls: creating a file is most of the cost of keeping
    it, and ``Path.write_bytes`` adds three system calls to it.
    """
    path = folder / name
    if not os.path.exists(path):
        partial = f"{path}.{os.getpid()}.partial"
        try:
            fd = os.open(partial, _CREATE, 0o666)
        except FileNotFoundError:  # the folder's first file
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(partial, _CREATE, 0o666)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(partial, path)
    return path


def raw_message_path(home: Path, content_hash: str) -> Path:
    return home / "mail" / "raw" / f"{content_hash}.eml"


def attachment_path(home: Path, content_hash: str) -> Path:
    """Where an attachment's bytes are kept by mail ingest, and read back to attach them to an invoice."""
    return home / "attachments" / content_hash[:2] / content_hash


def message_files(home: Path, message: ParsedMessage, raw: bytes) -> list[tuple[Path, bytes]]:
    """The files a message is kept as: its raw bytes, and each attachment under the size cap."""
    return [(raw_message_path(home, message.content_hash), raw),
            *((attachment_path(home, a.content_hash), a.content) for a in message.attachments if not a.skipped)]


def keep_message_files(home: Path, message: ParsedMessage, raw: bytes) -> None:
    for path, content in message_files(home, message, raw):
        keep_file(path.parent, path.name, content)


class FileKeeper:
    """Writes kept files (raw messages, attachments) on a thread of its own: creating a file costs the kernel about
    as much as parsing the message, and the two then overlap. ``wait`` returns once all are written (or raises)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="closeout-mail-files")
        self._pending: dict[Path, Future] = {}

    def keep(self, folder: Path, name: str, content: bytes) -> Path:
        path = folder / name
        if path not in self._pending:  # the same photo twice in a batch is written once
            self._pending[path] = self._pool.submit(keep_file, folder, name, content)
        return path

    def wait(self) -> None:
        pending, self._pending = list(self._pending.values()), {}
        for future in pending:
            future.result()

    def __enter__(self) -> "FileKeeper":
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)
