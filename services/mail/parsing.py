"""Parsing mail batches ahead of storing them: in worker processes for a big batch, in process for a small one.

Parsing is pure Python and CPU-bound, so a thread cannot overlap it with storing the previous batch; a process
can. ``parse_message`` stays the one parser: the workers run exactly it, the same bytes give the same value.
The workers also write the batch's kept files (creating a file is as costly as parsing), before they answer.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from services.collector import collector_paused
from services.mail.files import keep_message_files
from mappings.mail_parse import ParsedMessage, parse_message

POOL_MIN_BATCH = 40  # below this a batch is parsed in process: a worker would cost more than it saves
WORKERS = 2


def parse_batch(raws: Sequence[bytes], max_attachment_bytes: int, home: Path | None = None) -> list[ParsedMessage]:
    """Parse each message; with ``home``, keep its files too (a worker then creates them, not the main process)."""
    with collector_paused():  # a batch's parsed messages are not rescanned by full collections as they pile up
        messages = [parse_message(raw, max_attachment_bytes=max_attachment_bytes) for raw in raws]
        if home is not None:
            for raw, message in zip(raws, messages):
                keep_message_files(home, message, raw)
    return messages


class ParsedBatch:
    """A batch being parsed; ``result`` gives the messages in order (parsed in process if the workers failed).

    ``kept`` says whether the workers also wrote the messages' files (raw copies, attachments).
    """

    def __init__(self, raws: Sequence[bytes], cap: int, parts: list[Future] | None) -> None:
        self._raws, self._cap, self._parts = raws, cap, parts
        self._done: list[ParsedMessage] | None = None if parts else parse_batch(raws, cap)
        self.kept = bool(parts)

    def result(self) -> list[ParsedMessage]:
        if self._done is None:
            try:
                self._done = [message for part in self._parts or () for message in part.result()]
            except (BrokenProcessPool, OSError):  # a worker died or could not write: parse here, nothing is lost
                self._done, self.kept = parse_batch(self._raws, self._cap), False
        return self._done


class BatchParser:
    """Starts parsing a batch now (``start``) so the caller can store the one before meanwhile.

    The worker processes start with the first batch big enough to need them (forked, so nothing is re-imported);
    where fork is not available, or a worker dies, batches are parsed in process.
    """

    def __init__(self, max_attachment_bytes: int, home: Path, *, workers: int = WORKERS,
                 min_batch: int = POOL_MIN_BATCH) -> None:
        self.cap, self.home = max_attachment_bytes, home
        self.workers, self.min_batch = workers, min_batch
        self._pool: ProcessPoolExecutor | None = None
        self._usable = workers > 0 and "fork" in multiprocessing.get_all_start_methods()

    def start(self, raws: Sequence[bytes]) -> ParsedBatch:
        if not self._usable or len(raws) < self.min_batch:
            return ParsedBatch(raws, self.cap, None)
        try:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
            size = -(-len(raws) // self.workers)
            parts = [self._pool.submit(parse_batch, raws[at:at + size], self.cap, self.home)
                     for at in range(0, len(raws), size)]
        except (BrokenProcessPool, OSError, RuntimeError):
            self._usable = False
            return ParsedBatch(raws, self.cap, None)
        return ParsedBatch(raws, self.cap, parts)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "BatchParser":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
