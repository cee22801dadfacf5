"""Pace calls to a ledger so they stay inside its published rate limits instead of running into 429s.

QBO answers a throttled call with "wait 60 seconds", Xero with a Retry-After: either way a 429 costs far
more than waiting a moment for a free slot. ``LedgerPacer`` keeps the ledger's sliding windows on our
side: a call may start when fewer than ``calls`` of the last ``seconds`` ended (or are still running) in
every window and fewer than ``concurrent`` are in flight. A call counts from its start until ``seconds``
after its *end*, which is never earlier than the ledger's own count from its arrival, so a paced client
is never refused by the limits it mirrors. ``time_scale`` shrinks the windows like the sandbox's does.

Everything about pacing that is arithmetic lives here: the published limits, the sliding windows, the token
bucket a Prefect global concurrency limit is sized to (``token_bucket``), how many requests a connector call
makes, the in-process ``LocalPacer`` and the one ledger proxy, ``ThrottledLedger``, which waits for its pacer's
turn before each call and waits out a 429. ``closeout.orchestration.pacing.CompanyPacer`` is the same ``Pacer`` across
workers, on Prefect's global concurrency limits.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from connectors.errors import RetriableError, UncertainOutcomeError
from services.runtime import Pacer


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


def pacer_for(kind: str, *, time_scale: float = 1.0) -> LedgerPacer:
    """A pacer with the published limits of ledger ``kind`` (``quickbooks`` or ``xero``)."""
    return LedgerPacer(LIMITS[kind].scaled(time_scale))


HEADROOM = 0.95
"""Plan for this share of each published quota, beyond the arrival jitter below: a margin for the ledger's clock."""
ARRIVAL_JITTER = 0.5
"""Real seconds a call may reach the ledger later than the token taken for it, by more than its neighbours do
(a busy worker, a slow connection). Not scaled with the ledger's windows: the network does not speed up."""
SLOTS_PER_CALL = 100
"""A call takes this many slots of a rate limit (sized to match). Prefect's server decays whole slots since a
limit's last update, and every acquire (even a refused one) is an update: with one slot a call a busy limit
loses up to a call's worth of refill each time; with 100 at most 1 % of one."""
LOOKUP_CHUNKS = {"quickbooks": 50, "xero": 25}
"""Doc numbers per look-up request (connectors' chunk sizes)."""
BUCKET_WINDOW_LIMIT = 3600.0
"""Windows longer than this (Xero's 5,000 a day) are left to the ledger's 429: a token bucket sized for a
day would crawl; the in-process pacer still keeps them."""


def token_bucket(windows: tuple[Window, ...], scale: float = 1.0) -> tuple[int, float]:
    """(burst, refill per real second) such that no window (seconds/scale, calls) of the ledger's, which counts
    arrivals, ever sees more than HEADROOM of its calls.

    A bucket of ``burst`` slots refilled at ``rate`` admits at most ``burst + rate * T`` calls in any T seconds
    of taking tokens; each call arrives up to ARRIVAL_JITTER after its token, so the ledger may see at most
    ``burst + rate * (T + ARRIVAL_JITTER)`` in its window of T. The burst is one call: a backlog (what the
    shared limits are for) then runs at the highest steady pace, where a larger burst would cost a backlog
    its refill rate for good to win a few calls at the start.
    """
    kept = [w for w in windows if w.seconds <= BUCKET_WINDOW_LIMIT]
    burst = 1
    rate = min((w.calls * HEADROOM - burst) / (w.seconds / scale + ARRIVAL_JITTER) for w in kept)
    return burst, rate


def requests_made(kind: str, call: str, args: tuple, kwargs: dict) -> int:
    """The most HTTP requests connector method ``call`` makes (connectors/qbo.py, connectors/xero.py): a customer
    search by e-mail falls back to one by name; invoice look-ups go in chunks of doc numbers."""
    if call == "find_customers":
        return 2 if kwargs.get("email") else 1
    if call == "find_invoices":
        docs = set(args[0] if args else kwargs.get("doc_numbers", ()))
        return max(1, math.ceil(len(docs) / LOOKUP_CHUNKS[kind]))
    return 1


def in_slots(bucket: tuple[int, float]) -> tuple[int, float]:
    burst, rate = bucket
    return burst * SLOTS_PER_CALL, rate * SLOTS_PER_CALL


_local: dict[str, LedgerPacer] = {}
_local_lock = threading.Lock()


def local_pacer(name: str, kind: str, scale: float) -> LedgerPacer:
    """The one in-process pacer of a company's ledger, shared by every push in this process."""
    with _local_lock:
        if name not in _local:
            _local[name] = pacer_for(kind, time_scale=scale)
        return _local[name]


class LocalPacer:
    """``services.runtime.Pacer`` inside one process: every push of a company here shares one ``LedgerPacer``."""

    def __init__(self, kind: str, account: str, *, time_scale: float = 1.0, shared: bool = True) -> None:
        self.kind, self.limits, self.scale = kind, LIMITS[kind], time_scale
        self.pacer = (local_pacer(f"{kind}-{account}@{time_scale}", kind, time_scale) if shared
                      else pacer_for(kind, time_scale=time_scale))

    @contextmanager
    def slot(self, call: str, *args: Any, **kwargs: Any) -> Iterator[None]:
        """Wait for the turn of connector method ``call`` (with its arguments: some make several requests)."""
        batch, requests = call in self.limits.batch_methods, requests_made(self.kind, call, args, kwargs)
        for _ in range(requests - 1):  # the method's earlier requests, one after the other
            with self.pacer.slot(batch=batch):
                pass
        with self.pacer.slot(batch=batch):
            yield


MAX_THROTTLE_WAIT = 120.0
"""The longest a push waits in-process when the ledger says "too many requests"; a longer ask re-raises."""
THROTTLE_RETRIES = 3
UNPACED = {"close"}
"""Ledger methods that make no API call, so never wait for a turn."""


class ThrottledLedger:
    """A ledger whose calls, when refused with a wait (429, ``RetriableError.retry_after``), wait and go again.

    A 429 means the ledger did not process the request, so even a create is safe to resend (and its
    idempotency key would catch a double anyway). An UncertainOutcomeError is never retried here: it is
    looked up first by the push step. Waits over ``max_wait`` and the ``retries + 1``-th refusal re-raise,
    leaving the retry to the flow. ``waited`` sums the seconds slept.
    """

    def __init__(self, ledger: Any, *, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = MAX_THROTTLE_WAIT, retries: int = THROTTLE_RETRIES,
                 pacer: Pacer | None = None) -> None:
        self.ledger, self._sleep, self._max_wait, self._retries = ledger, sleep, max_wait, retries
        self.pacer = pacer  # waits for the company's turn before every call (a Pacer: LocalPacer here, closeout.orchestration.pacing.CompanyPacer across workers)
        self.waited = 0.0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.ledger, name)
        if not callable(attribute) or name in UNPACED:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(self._retries + 1):
                try:
                    if self.pacer is None:
                        return attribute(*args, **kwargs)
                    with self.pacer.slot(name, *args, **kwargs):
                        return attribute(*args, **kwargs)
                except UncertainOutcomeError:
                    raise
                except RetriableError as exc:
                    wait = exc.retry_after
                    if wait is None or wait > self._max_wait or attempt == self._retries:
                        raise
                    self.waited += wait
                    self._sleep(wait)
            raise AssertionError("unreachable")

        return call
