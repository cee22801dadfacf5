"""The cyclic garbage collector paused while a batch builds its objects, so it does not rescan them over and over."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_lock = threading.Lock()
_paused = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause ``gc``'s cyclic collector for the block; it runs again (if it ran before) when the last pause ends.

    Why: a page or a batch keeps tens of thousands of new objects alive (work orders, decisions), and each time
    enough of them survive CPython runs a *full* collection that walks every object in the process; in the
    normalisation bench those passes were over half the CPU. Reference counting still frees everything that is
    not in a cycle during the block, so memory grows only by the block's cyclic garbage, which the collector
    takes on its next pass. Pauses may nest or overlap (Prefect runs tasks in threads): the collector is
    enabled again only when none is left.
    """
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()
