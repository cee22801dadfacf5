"""Pacing ledger calls to the ledgers' published limits, per company, across every worker that shares a Prefect server.

    QuickBooks Online  10 calls/s and 500/min, 10 concurrent, 40 batch calls/min   per realm  (ledgers.md §1.1)
    Xero               60 calls/min, 5 concurrent                                   per tenant (ledgers.md §2.1)

With a Prefect server configured (``PREFECT_API_URL``), the limits are Prefect global concurrency limits,
created on demand and named per ledger and company (``closeout-qbo-<realm>-rate``), so workers on several
machines share them: a token bucket (``rate_limit``, every call) sized so that no window of the ledger's ever
sees more than 80 % of its quota, and a slot limit for the concurrent calls, held per push task rather than
per call (``tag:closeout-qbo-<realm>-concurrent``, a tag limit on the push task, see ``holding_a_slot``):
a push task makes one call at a time, and a Prefect slot taken per call costs about a second each on a busy
server (acquire, lease, release). Without a server the same limits hold in this process
(services.push.pacing's exact sliding windows and concurrency, one pacer per company).
``CLOSEOUT_LEDGER_TIME_SCALE`` shrinks every window as the sandbox's ``--time-scale`` does (60: a "minute"
lasts a second); for tests and benchmarks.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from typing import Any
from contextlib import contextmanager

from closeout.prefect_api import prefect_api_configured
from services.config import LedgerConfig
from services.push.pacing import LIMITS, LedgerPacer, Window, pacer_for

HEADROOM = 0.8
"""Plan for this share of each published quota: the ledger counts arrivals, which jitter against our clock."""
SLOTS_PER_CALL = 100
"""A call takes this many slots of a rate limit (sized to match). Prefect's server decays whole slots since a
limit's last update, and every acquire (even a refused one) is an update: with one slot a call a busy limit
loses up to a call's worth of refill each time; with 100 at most 1 % of one."""
LOOKUP_CHUNKS = {"quickbooks": 50, "xero": 25}
"""Doc numbers per look-up request (connectors' chunk sizes)."""
BUCKET_WINDOW_LIMIT = 3600.0
"""Windows longer than this (Xero's 5,000 a day) are left to the ledger's 429: a token bucket sized for a
day would crawl; the in-process pacer still keeps them."""


def time_scale() -> float:
    return float(os.environ.get("CLOSEOUT_LEDGER_TIME_SCALE") or 1.0)


def token_bucket(windows: tuple[Window, ...], scale: float = 1.0) -> tuple[int, float]:
    """(burst, refill per second) such that no window (seconds/scale, calls) gets more than HEADROOM of its calls.

    A bucket of ``burst`` slots refilled at ``rate`` admits at most ``burst + rate * window`` calls in any window.
    """
    kept = [w for w in windows if w.seconds <= BUCKET_WINDOW_LIMIT]
    burst = max(1, min(w.calls for w in kept) // 5)
    rate = min((w.calls * HEADROOM - burst) / w.seconds for w in kept)
    return burst, rate * scale


_local: dict[str, LedgerPacer] = {}
_local_lock = threading.Lock()
_ensured: set[tuple[str, tuple[int, float]]] = set()  # global limits this process created or checked


def local_pacer(name: str, kind: str, scale: float) -> LedgerPacer:
    """The one in-process pacer of a company's ledger, shared by every push in this process."""
    with _local_lock:
        if name not in _local:
            _local[name] = pacer_for(kind, time_scale=scale)
        return _local[name]


class CompanyPacer:
    """Waits for a company's turn before each ledger call: ``with pacer.slot("create_invoice"): ...``."""

    def __init__(self, ledger: LedgerConfig, *, use_prefect: bool | None = None) -> None:
        self.kind = ledger.kind
        self.limits = LIMITS[ledger.kind]
        short = "qbo" if ledger.kind == "quickbooks" else ledger.kind
        self.prefix = f"closeout-{short}-{ledger.realm_id or ledger.tenant_id}".lower()
        self.scale = time_scale()
        self.use_prefect = prefect_api_configured() if use_prefect is None else use_prefect

    @contextmanager
    def slot(self, call: str, *args: Any, **kwargs: Any) -> Iterator[None]:
        """Wait for the turn of connector method ``call`` (with its arguments: some make several requests)."""
        batch, requests = call in self.limits.batch_methods, requests_made(self.kind, call, args, kwargs)
        if self.use_prefect:
            with self._prefect_slot(batch, requests):
                yield
            return
        pacer = local_pacer(f"{self.prefix}@{self.scale}", self.kind, self.scale)
        for _ in range(requests - 1):  # the method's earlier requests, one after the other
            with pacer.slot(batch=batch):
                pass
        with pacer.slot(batch=batch):
            yield

    @property
    def concurrency_tag(self) -> str:
        return f"{self.prefix}-concurrent"

    @contextmanager
    def holding_a_slot(self) -> Iterator[None]:
        """Around a task that calls the ledger one call at a time: with a Prefect server, the tasks started in
        here carry the company's concurrency tag, so at most ``concurrent`` of them run at once on all workers."""
        if not self.use_prefect:
            yield
            return
        from prefect import tags

        self._ensure_limits()
        with tags(self.concurrency_tag):
            yield

    def limit_specs(self) -> dict[str, tuple[int, float]]:
        """The global concurrency limits this company needs: name → (limit, slot decay per second)."""
        specs = {f"{self.prefix}-rate": _in_slots(token_bucket(self.limits.windows, self.scale)),
                 f"tag:{self.concurrency_tag}": (self.limits.concurrent, 0.0)}
        if self.limits.batch_windows:
            specs[f"{self.prefix}-batch"] = _in_slots(token_bucket(self.limits.batch_windows, self.scale))
        return specs

    def _ensure_limits(self) -> None:
        specs = self.limit_specs()
        if not _ensured.issuperset(specs.items()):
            ensure_global_limits(specs)
            _ensured.update(specs.items())

    @contextmanager
    def _prefect_slot(self, batch: bool, requests: int) -> Iterator[None]:
        from prefect.concurrency.sync import rate_limit

        self._ensure_limits()
        names = [f"{self.prefix}-rate", *([f"{self.prefix}-batch"] if batch else [])]
        burst = min(limit for name, (limit, _) in self.limit_specs().items() if name in names) // SLOTS_PER_CALL
        while requests > 0:  # never ask for more than the bucket holds
            taken = min(requests, burst)
            rate_limit(names, occupy=taken * SLOTS_PER_CALL, strict=True)
            requests -= taken
        yield


def requests_made(kind: str, call: str, args: tuple, kwargs: dict) -> int:
    """The most HTTP requests connector method ``call`` makes (connectors/qbo.py, connectors/xero.py): a customer
    search by e-mail falls back to one by name; invoice look-ups go in chunks of doc numbers."""
    if call == "find_customers":
        return 2 if kwargs.get("email") else 1
    if call == "find_invoices":
        docs = set(args[0] if args else kwargs.get("doc_numbers", ()))
        return max(1, math.ceil(len(docs) / LOOKUP_CHUNKS[kind]))
    return 1


def _in_slots(bucket: tuple[int, float]) -> tuple[int, float]:
    burst, rate = bucket
    return burst * SLOTS_PER_CALL, rate * SLOTS_PER_CALL


def ensure_global_limits(specs: dict[str, tuple[int, float]]) -> None:
    """Create each global concurrency limit that is missing, and correct one whose size differs."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        for name, (limit, decay) in specs.items():
            try:
                current = client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                try:
                    client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(name=name, limit=limit, slot_decay_per_second=decay))
                except ObjectAlreadyExists:  # another worker created it a moment ago
                    pass
                continue
            if current.limit != limit or abs((current.slot_decay_per_second or 0.0) - decay) > 1e-9:
                client.update_global_concurrency_limit(
                    name, GlobalConcurrencyLimitUpdate(limit=limit, slot_decay_per_second=decay))
