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

import os
from collections.abc import Iterator
from typing import Any
from contextlib import contextmanager

from closeout.orchestration.prefect_api import prefect_api_configured
from services.config import LedgerConfig
from services.push.pacing import LIMITS, SLOTS_PER_CALL, LocalPacer, in_slots, requests_made, token_bucket

_ensured: set[tuple[str, tuple[int, float]]] = set()  # global limits this process created or checked


def time_scale() -> float:
    return float(os.environ.get("CLOSEOUT_LEDGER_TIME_SCALE") or 1.0)


class CompanyPacer:
    """Waits for a company's turn before each ledger call: ``with pacer.slot("create_invoice"): ...``."""

    def __init__(self, ledger: LedgerConfig, *, use_prefect: bool | None = None) -> None:
        self.kind = ledger.kind
        self.limits = LIMITS[ledger.kind]
        short = "qbo" if ledger.kind == "quickbooks" else ledger.kind
        self.prefix = f"closeout-{short}-{ledger.realm_id or ledger.tenant_id}".lower()
        self.scale = time_scale()
        self.use_prefect = prefect_api_configured() if use_prefect is None else use_prefect
        self._local = LocalPacer(ledger.kind, ledger.realm_id or ledger.tenant_id or "", time_scale=self.scale)

    @contextmanager
    def slot(self, call: str, *args: Any, **kwargs: Any) -> Iterator[None]:
        """Wait for the turn of connector method ``call`` (with its arguments: some make several requests)."""
        batch, requests = call in self.limits.batch_methods, requests_made(self.kind, call, args, kwargs)
        if self.use_prefect:
            with self._prefect_slot(batch, requests):
                yield
            return
        with self._local.slot(call, *args, **kwargs):
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
        specs = {f"{self.prefix}-rate": in_slots(token_bucket(self.limits.windows, self.scale)),
                 f"tag:{self.concurrency_tag}": (self.limits.concurrent, 0.0)}
        if self.limits.batch_windows:
            specs[f"{self.prefix}-batch"] = in_slots(token_bucket(self.limits.batch_windows, self.scale))
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
