"""The files mail ingest keeps: each raw message and each attachment, named by its content hash, written once."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path


def keep_file(folder: Path, name: str, content: bytes) -> Path:
    """Write a file named by its content hash once; an existing one already holds these bytes."""
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_bytes(content)
        partial.replace(path)
    return path


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
