"""Pace calls to a ledger so they stay inside its published rate limits instead of running into 429s.

QBO answers a throttled call with "wait 60 seconds", Xero with a Retry-After: either way a 429 costs far
more than waiting a moment for a free slot. ``LedgerPacer`` keeps the ledger's sliding windows on our
side: a call may start when fewer than ``calls`` of the last ``seconds`` ended (or are still running) in
every window and fewer than ``concurrent`` are in flight. A call counts from its start until ``seconds``
after its *end*, which is never earlier than the ledger's own count from its arrival, so a paced client
is never refused by the limits it mirrors. ``time_scale`` shrinks the windows like the sandbox's does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Window:
    seconds: float
    calls: int


@dataclass(frozen=True)
class LedgerLimits:
    """A ledger's limits per company: windows on every call, extra windows on batch calls, concurrency."""

    windows: tuple[Window, ...]
    concurrent: int
    batch_windows: tuple[Window, ...] = ()
    batch_methods: frozenset[str] = frozenset()

    def scaled(self, time_scale: float) -> LedgerLimits:
        """The same limits with every window ``time_scale`` times shorter (the sandbox's time scale)."""
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        return replace(self, windows=tuple(Window(w.seconds / time_scale, w.calls) for w in self.windows),
                       batch_windows=tuple(Window(w.seconds / time_scale, w.calls) for w in self.batch_windows))


LIMITS = {
    # ledgers.md §1.1: 10/s, 500/min, 10 concurrent per realm; the batch endpoint 40/min on top
    "quickbooks": LedgerLimits(windows=(Window(1.0, 10), Window(60.0, 500)), concurrent=10,
                               batch_windows=(Window(60.0, 40),), batch_methods=frozenset({"create_invoices"})),
    # ledgers.md §2.1: 60/min, 5000/day, 5 concurrent per tenant
    "xero": LedgerLimits(windows=(Window(60.0, 60), Window(86_400.0, 5_000)), concurrent=5),
}


class _Call:
    __slots__ = ("batch", "end")

    def __init__(self, batch: bool) -> None:
        self.batch, self.end = batch, float("inf")


class LedgerPacer:
    """Hands out call slots for one company's ledger, across the threads that share it."""

    def __init__(self, limits: LedgerLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits, self._clock = limits, clock
        self._changed = threading.Condition()
        self._calls: list[_Call] = []
        self._in_flight = 0
        self.calls = 0
        self.waited = 0.0

    @contextmanager
    def slot(self, *, batch: bool = False) -> Iterator[None]:
        """Wait until one more call is allowed, hold the slot while the call runs, and stamp its end."""
        call = _Call(batch)
        with self._changed:
            started = self._clock()
            while (wait := self._wait_for(batch)) > 0:
                self._changed.wait(timeout=None if wait == float("inf") else wait)
            self.waited += self._clock() - started
            self._calls.append(call)
            self._in_flight += 1
            self.calls += 1
        try:
            yield
        finally:
            with self._changed:
                call.end = self._clock()
                self._in_flight -= 1
                self._changed.notify_all()

    def _wait_for(self, batch: bool) -> float:
        """Seconds until a call may start (0: now; inf: when a running call ends). Holds the lock."""
        if self._in_flight >= self.limits.concurrent:
            return float("inf")
        now = self._clock()
        longest = max((w.seconds for w in self.limits.windows + self.limits.batch_windows), default=0.0)
        self._calls = [c for c in self._calls if c.end > now - longest]
        wait = 0.0
        checks = [(w, self._calls) for w in self.limits.windows]
        if batch:
            checks += [(w, [c for c in self._calls if c.batch]) for w in self.limits.batch_windows]
        for window, calls in checks:
            recent = sorted(c.end for c in calls if c.end > now - window.seconds)
            if len(recent) >= window.calls:
                wait = max(wait, recent[len(recent) - window.calls] + window.seconds - now)
        return wait


class PacedLedger:
    """A ledger connector whose every call first takes a slot of ``pacer`` (batch methods a batch slot)."""

    def __init__(self, ledger: Any, pacer: LedgerPacer) -> None:
        self.ledger, self.pacer = ledger, pacer

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.ledger, name)
        if not callable(attribute):
            return attribute
        batch = name in self.pacer.limits.batch_methods

        def call(*args: Any, **kwargs: Any) -> Any:
            with self.pacer.slot(batch=batch):
                return attribute(*args, **kwargs)

        return call


def pacer_for(kind: str, *, time_scale: float = 1.0) -> LedgerPacer:
    """A pacer with the published limits of ledger ``kind`` (``quickbooks`` or ``xero``)."""
    return LedgerPacer(LIMITS[kind].scaled(time_scale))
