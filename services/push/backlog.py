"""Push a company's whole backlog at the ledger's own pace: full batches back to back, as many at once as it allows.

``push_batch`` claims and sends one ledger request's worth; a month-end backlog of thousands of drafts
needs the rate limit, not the round trips, to be what bounds it. Here every worker thread claims a full
batch (QBO 30, Xero 50), prepares it and sends it when the company's pacer (``closeout.orchestration.pacing``) allows,
so requests start the moment the ledger's windows allow and never more run at once than its limit. Customers
are resolved once for the whole backlog: when many drafts name customers the mapping does not, the
ledger's customer list is read in pages of 1,000 instead of one query per customer. The exactly-once
steps are ``push_together``'s, unchanged: claim, look up what may have landed, send, save each outcome.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from services.config import CompanyConfig
from services.push.pacing import LIMITS
from services.counts import StepCounts
from services.push.pusher import Pusher
from services.push.dry_run import hold_back
from services.push.evidence import push_evidence
from services.push.together import BATCH_SIZES, push_together
from services.runtime import Runtime
from connectors.qbo import CUSTOMER_PAGE
from workorders.push import STALE_AFTER

LIST_CUSTOMERS_FROM = 40
"""Distinct unmapped customers from which reading the ledger's whole customer list costs fewer calls."""


def push_backlog(app: Runtime, company: CompanyConfig, *, workers: int | None = None,
                 on_batch: Callable[[StepCounts], object] | None = None, stale_after: timedelta = STALE_AFTER,
                 sleep: Callable[[float], None] = time.sleep) -> StepCounts:
    """Push every claimable draft of ``company``; re-raise the first worker's failure after all have stopped.

    ``on_batch`` hears each batch's counts (one at a time, in the caller's context: e.g. a progress
    artifact). ``workers`` defaults to the ledger's concurrency limit; every call waits for the company's turn
    (``closeout.orchestration.pacing``, shared by all workers). A failure (retriable or fatal) stops the other workers
    after their current batch, with every record's state saved as ``push_together`` leaves it, so a retry
    of this step resumes where it stopped.
    """
    if not company.ledger.push:
        return hold_back(app, company)
    kind = company.ledger.kind
    with app.store.unit_of_work() as uow:
        uow.push_records.release_stale(stale_after, ledger=kind)
        uow.commit()
    customers = _known_customers(app, company, Pusher(app, company, sleep=sleep).ledger)
    customer_lock = threading.Lock()
    size = BATCH_SIZES.get(kind, 50)
    done: list[StepCounts] = []
    failures: list[Exception] = []
    lock, stop = threading.Lock(), threading.Event()

    def work() -> None:
        pusher = _SharedPusher(app, company, customers=customers, lock=customer_lock, sleep=sleep)
        while not stop.is_set():
            counts = StepCounts()
            with app.store.unit_of_work() as uow:
                records = uow.push_records.claim(ledger=kind, company=company.id, limit=size)
                uow.commit()
            if not records:
                return
            try:
                push_together(app, pusher, records, counts)
                push_evidence(app, company, pusher.ledger, counts)  # sign-offs, photos, e-mail, as push_batch does
            except Exception as exc:  # noqa: BLE001 - handed to the caller once every worker stopped
                stop.set()
                with lock:
                    failures.append(exc)
            with lock:
                done.append(counts)
                if on_batch is not None:
                    on_batch(counts)

    limit = LIMITS[kind].concurrent
    count = max(1, min(workers or limit, limit))
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(work,), name=f"push-{company.id}-{n}",
                                daemon=True) for n in range(count)]  # the caller's context: Prefect's run, if any
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return sum(done, StepCounts())


class _SharedPusher(Pusher):
    """A worker's pusher whose customer cache is every worker's: each customer is looked up (or created) once."""

    def __init__(self, app: Runtime, company: CompanyConfig, *, customers: dict, lock: threading.Lock,
                 sleep: Callable[[float], None]) -> None:
        super().__init__(app, company, sleep=sleep)
        self._customers, self._lock = customers, lock  # one pace per company already (closeout.orchestration.pacing)

    def _customer_ref(self, record):
        with self._lock:  # two workers meeting a new customer must not both create it
            return super()._customer_ref(record)


def _known_customers(app: Runtime, company: CompanyConfig, ledger) -> dict:
    """``Pusher``'s customer cache, filled from the ledger's customer list when that saves calls.

    A key resolves exactly as ``find_customers`` would: active customers with that email (any case), else
    with that exact name; one match is the customer, several stay unresolved so the pusher opens a case.
    """
    with app.store.unit_of_work() as uow:
        names = uow.push_records.unmapped_customers(ledger=company.ledger.kind, company=company.id)
    if len(names) < LIST_CUSTOMERS_FROM:
        return {}
    by_email, by_name = defaultdict(list), defaultdict(list)
    page, rows = 1, None
    while rows is None or len(rows) == CUSTOMER_PAGE:
        rows = ledger.list_customers(page=page)
        page += 1
        for ledger_id, name, email in rows:
            if not ledger_id:  # an archived Xero contact, kept in the page so its length tells if more follow
                continue
            by_name[name].append(ledger_id)
            if email:
                by_email[email.casefold()].append(ledger_id)
    cache: dict[str, str] = {}
    for name, email in names:
        found = (by_email.get(email.casefold()) if email else None) or by_name.get(name, [])
        if len(found) == 1:
            cache[f"{name}|{email or ''}"] = found[0]
    return cache
