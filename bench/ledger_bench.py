"""The month-end backlog against one ledger sandbox with its real limits, time-scaled: Closeout and a naive peer.

Two companies in one sandbox, each with the same known customers: Closeout pushes the whole backlog of
one (``services.push.backlog``, the pipeline's push step), the naive peer pushes a sample of the
other's drafts the way one-call-per-invoice integrations do (one customer query and one create per
invoice), paced by the same client-side limiter so it too runs at the most the limits allow it. Ideal
time is computed from the sandbox's own windows (``sandbox.rate_limits``) for the fewest calls this
workload needs; measured times are real seconds, throughputs are invoices per *ledger* minute.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from datetime import UTC, datetime
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager

import httpx
import sqlalchemy as sa

from bench.generate import customer, job_rows, ready_drafts, work_orders
from bench.measure import Measure, refusals_measure
from services.push.pacing import LedgerPacer, ThrottledLedger, pacer_for
from closeout.settings import Settings
from services.push.batch import invoice_payload
from services.push.backlog import push_backlog
from services.push.together import BATCH_SIZES
from closeout.wiring import App, open_app
from sandbox.rate_limits import WINDOWS
from storage.tables import push_records, work_order_versions
from workorders.drafts import InvoiceDraft
from workorders.push import PushRecord, PushStatus
from workorders.work_order import WorkOrder, snapshot

TIME_SCALE = "CLOSEOUT_LEDGER_TIME_SCALE"
"""How closeout.orchestration.pacing learns the sandbox's time scale."""
SYSTEMS = {"quickbooks": ("qbo", "qbo-batch"), "xero": ("xero", None)}
"""Ledger kind → the sandbox's rate-limit system for every call and for batch calls."""


@dataclass(frozen=True)
class Workload:
    kind: str  # quickbooks | xero
    drafts: int
    customers: int
    time_scale: float
    baseline_drafts: int
    scenario: str
    batch_target: str  # e.g. ">= 4"
    calls_target: float  # calls per invoice at most


def ideal_seconds(kind: str, calls: int, *, batch: bool = True) -> float:
    """Ledger seconds until the last of ``calls`` (batch) calls may start under the sandbox's windows.

    Greedy: each call starts as early as every window allows (a call counts in a window from its start),
    calls take no time; this is the floor no client can beat.
    """
    system, batch_system = SYSTEMS[kind]
    windows = list(WINDOWS[system]) + (list(WINDOWS[batch_system]) if batch_system and batch else [])
    starts: list[float] = []
    for index in range(calls):
        start = 0.0
        for _, seconds, limit in windows:
            if index >= limit:
                start = max(start, starts[index - limit] + seconds)
        starts.append(start)
    return starts[-1] if starts else 0.0


def steady_rate(kind: str) -> float:
    """Calls per ledger second the sandbox allows in the long run, by its windows of an hour or less."""
    system, _ = SYSTEMS[kind]
    return min(limit / seconds for _, seconds, limit in WINDOWS[system] if seconds <= 3600)


def config_text(kind: str, companies: dict[str, str]) -> str:
    """A config with one company per ``id → realm/tenant``, all on ``kind`` in the sandbox."""
    blocks = []
    for company_id, ident in companies.items():
        key = "tenant_id" if kind == "xero" else "realm_id"
        currency, terms = ("NZD", "due_days = 20\n") if kind == "xero" else ("USD", "")  # the sandboxes' home currencies
        blocks.append(f'[[companies]]\nid = "{company_id}"\nname = "Bench {company_id}"\ntimezone = "America/Chicago"\n'
                      f'currency = "{currency}"\n[companies.ledger]\nkind = "{kind}"\n{key} = "{ident}"\n'
                      f'create_customers = false\n[[companies.sources]]\nkind = "csv"\nname = "csv-{company_id}"\n'
                      f'path = "jobs-{company_id}"\n[companies.mappings]\nitems = {{ "LAB" = "1" }}\n{terms}')
    return "\n".join(blocks)


def seed_customers(app: App, kind: str, ident: str, prefix: str, numbers: Iterable[int]) -> None:
    """Create the known customers in the ledger company (limits off): 30 per QBO batch, 500 per Xero PUT."""
    people = [customer(prefix, n) for n in numbers]
    count = len(people)
    with httpx.Client(base_url=app.sandbox_url, headers={"Authorization": "Bearer bench"}, timeout=60,
                      trust_env=False) as http:
        if kind == "quickbooks":
            for start in range(0, count, 30):
                items = [{"bId": str(n), "operation": "create",
                          "Customer": {"DisplayName": name, "PrimaryEmailAddr": {"Address": email}}}
                         for n, (_, name, email) in enumerate(people[start:start + 30])]
                http.post(f"/v3/company/{ident}/batch", json={"BatchItemRequest": items}).raise_for_status()
        else:
            for start in range(0, count, 500):
                contacts = [{"Name": name, "EmailAddress": email} for _, name, email in people[start:start + 500]]
                http.put("/api.xro/2.0/Contacts", headers={"xero-tenant-id": ident},
                         json={"Contacts": contacts}).raise_for_status()


@lru_cache(maxsize=4)
def backlog_orders(company: str, count: int, customers: int, *, currency: str = "USD") -> tuple[WorkOrder, ...]:
    """The generated backlog as version-1 work orders (mapped once per process: both ledgers use it).

    Job ids and customer names start with the company's initial, so two companies never share a job.
    """
    prefix = company[:1].upper()
    orders = work_orders(job_rows(prefix=prefix, count=count, customers=customers, currency=currency), company=company)
    return tuple(order.with_version(1) for order in orders)


def queue_drafts(app: App, kind: str, company: str, count: int, customers: int) -> list[InvoiceDraft]:
    """Store ``count`` generated work orders and their drafts as ``ready`` push records (what ``prepare`` leaves).

    Inserted in bulk, as a fresh store would hold them after a pull and a prepare: version 1 of each order.
    """
    orders = backlog_orders(company, count, customers, currency="NZD" if kind == "xero" else "USD")  # home currencies
    drafts = ready_drafts(orders, ledger=kind, doc_prefix=f"{company[:1].upper()}-")
    insert_ready(app, orders, drafts)
    return drafts


def insert_ready(app: App, orders: Sequence[WorkOrder], drafts: Sequence[InvoiceDraft]) -> None:
    """The orders' versions and their drafts as ``ready`` push records, in two bulk inserts."""
    with app.store.engine.begin() as connection:
        stamp = datetime.now(UTC)
        connection.execute(sa.insert(work_order_versions), [dict(
            work_order_id=o.id, version=o.version, company=o.company, job_number=o.job_number, status=o.status.value,
            content_hash=o.content_hash(), snapshot=snapshot(o), stored_at=stamp) for o in orders])
        connection.execute(sa.insert(push_records), [dict(
            idempotency_key=d.idempotency_key, company=d.company, ledger=d.ledger, work_order_id=d.work_order_id,
            work_order_version=d.work_order_version, doc_number=d.doc_number, amount=d.total,
            status=PushStatus.ready.value, draft=d.model_dump(mode="json"), ledger_id=None, attempts=0, last_error="",
            created_at=stamp, updated_at=stamp) for d in drafts])


def sandbox_stats(app: App, kind: str, ident: str) -> dict[str, Any]:
    system = "xero" if kind == "xero" else "qbo"
    answer = httpx.get(f"{app.sandbox_url}/_sandbox/{system}/{ident}/stats", timeout=60, trust_env=False)
    answer.raise_for_status()
    return answer.json()


def limit_counts(app: App) -> dict[str, Any]:
    """The sandbox limits' own tally since they were last configured: accepted and refused calls."""
    answer = httpx.get(f"{app.sandbox_url}/_sandbox/limits", timeout=10, trust_env=False)
    answer.raise_for_status()
    return answer.json()


def set_limits(app: App, *, enabled: bool, time_scale: float = 1.0) -> None:
    httpx.post(f"{app.sandbox_url}/_sandbox/limits", json={"enabled": enabled, "time_scale": time_scale},
               timeout=10, trust_env=False).raise_for_status()


class OneSlotPerCall:
    """The naive peer's pacing: one turn per connector call, as a client that knows nothing of the e-mail
    search's fallback request would pace (its customers are found by e-mail, so one request each)."""

    def __init__(self, pacer: LedgerPacer) -> None:
        self.pacer = pacer

    def slot(self, call: str, *args: Any, **kwargs: Any) -> AbstractContextManager[None]:
        return self.pacer.slot(batch=False)


def push_naively(app: App, company, drafts: list[InvoiceDraft], time_scale: float) -> tuple[float, int]:
    """One customer query and one create per invoice, as many at once as the ledger allows; (seconds, calls)."""
    pacer = pacer_for(company.ledger.kind, time_scale=time_scale)
    ledger = ThrottledLedger(app.ledger_for(company), pacer=OneSlotPerCall(pacer), retries=0)
    queue, lock = list(reversed(drafts)), threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                draft = queue.pop()
            found = ledger.find_customers(name=draft.customer_name, email=draft.customer_email)
            record = PushRecord(idempotency_key=draft.idempotency_key, company=draft.company, ledger=draft.ledger,
                                work_order_id=draft.work_order_id, work_order_version=draft.work_order_version,
                                doc_number=draft.doc_number, amount=draft.total, status=PushStatus.pushing, draft=draft)
            ledger.create_invoice(invoice_payload(company, record, found[0]), idempotency_key=draft.request_key())

    started = time.perf_counter()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(pacer.limits.concurrent)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, pacer.calls


def run_workload(work: Workload) -> tuple[list[Measure], dict[str, Any]]:
    """Run Closeout's push and the naive baseline for ``work``; the measures and the raw facts behind them."""
    ours, naive = "bench", "naive"
    idents = ({ours: "9130377001", naive: "9130377002"} if work.kind == "quickbooks"
              else {ours: "b3e1a2c4-0000-4000-8000-00000be4c401", naive: "b3e1a2c4-0000-4000-8000-00000be4c402"})
    with tempfile.TemporaryDirectory(prefix="closeout-bench-") as folder:
        home = Path(folder)
        (home / "bench.toml").write_text(config_text(work.kind, idents), encoding="utf-8")
        settings = Settings(home=home, database_url=f"sqlite:///{home / 'closeout.db'}", config=home / "bench.toml")
        with open_app(settings=settings, config_path=home / "bench.toml") as app:
            set_limits(app, enabled=False)
            seed_customers(app, work.kind, idents[ours], "B", range(work.customers))
            queue_drafts(app, work.kind, ours, work.drafts, work.customers)
            sample = queue_drafts(app, work.kind, naive, work.baseline_drafts, work.customers)
            seed_customers(app, work.kind, idents[naive], "N",
                           sorted({int(d.customer_name.rsplit(" ", 1)[1]) for d in sample}))
            before = sandbox_stats(app, work.kind, idents[ours])
            set_limits(app, enabled=True, time_scale=work.time_scale)

            app.ledger_for(app.config.company(ours))  # build the connector (and import what it needs) untimed
            os.environ[TIME_SCALE], previous = str(work.time_scale), os.environ.get(TIME_SCALE)
            try:
                started = time.perf_counter()
                counts = push_backlog(app, app.config.company(ours))
                seconds = time.perf_counter() - started
            finally:
                if previous is None:
                    os.environ.pop(TIME_SCALE, None)
                else:
                    os.environ[TIME_SCALE] = previous
            ours_refused = limit_counts(app)["refused"]

            naive_seconds, naive_calls = push_naively(app, app.config.company(naive), sample, work.time_scale)
            refused = limit_counts(app)["refused"]  # read before the limits go off: that clears the tally
            set_limits(app, enabled=False)
            after = sandbox_stats(app, work.kind, idents[ours])
            naive_after = sandbox_stats(app, work.kind, idents[naive])
            with app.store.unit_of_work() as uow:
                statuses = [r.status.value for r in uow.push_records.all() if r.company == ours]
    return measures(work, counts.pushed, seconds, after["requests"] - before["requests"], naive_seconds,
                    naive_calls, refused), {
        "pushed": counts.pushed, "rejected": counts.rejected, "uncertain": counts.uncertain,
        "statuses": {s: statuses.count(s) for s in set(statuses)}, "ledger_invoices": after["invoices"],
        "duplicate_doc_numbers": after.get("duplicate_doc_numbers", after.get("duplicate_invoice_numbers")),
        "ledger_calls": after["requests"] - before["requests"],
        "refused": refused, "ours_refused": ours_refused, "seconds": seconds, "naive_seconds": naive_seconds,
        "naive_calls": naive_calls,
        "naive_invoices": naive_after["invoices"],
    }


def measures(work: Workload, pushed: int, seconds: float, ledger_calls: int, naive_seconds: float,
             naive_calls: int, refused: list[dict[str, Any]] = ()) -> list[Measure]:
    name, scale = work.scenario, work.time_scale
    batches = math.ceil(work.drafts / BATCH_SIZES[work.kind])
    ideal = ideal_seconds(work.kind, batches) / scale
    efficiency = ideal / seconds if seconds else None
    per_invoice = ledger_calls / pushed if pushed else float("inf")
    ours_rate = pushed / (seconds * scale / 60) if seconds else 0.0
    naive_rate = work.baseline_drafts / (naive_seconds * scale / 60) if naive_seconds else 0.0
    ratio = ours_rate / naive_rate if naive_rate else None
    naive_ceiling = 60 * steady_rate(work.kind) / 2  # invoices per ledger minute at 2 calls each
    threshold = float(work.batch_target.split()[-1])
    largest = _at_the_largest_batch(work, seconds)
    return [
        Measure(name, "push time (real s)", round(seconds, 2), "s", round(ideal, 2),
                f"ideal for {batches} batch calls of {BATCH_SIZES[work.kind]} at the sandbox's limits, "
                f"time scale {scale:g}",
                round(efficiency, 3) if efficiency else None, ">= 0.85",
                efficiency is not None and efficiency >= 0.85),
        Measure(name, "ledger calls per invoice", round(per_invoice, 4), "calls/invoice", round(work.calls_target, 4),
                f"ceiling 1/{round(1 / work.calls_target)} ({ledger_calls} calls counted by the sandbox)",
                round(per_invoice / work.calls_target, 3), "<= 1.0",
                pushed == work.drafts and per_invoice <= work.calls_target),
        Measure(name, "throughput (invoices per ledger minute)", round(ours_rate, 1), "inv/min", round(naive_rate, 1),
                f"naive: 1 query + 1 create per invoice, {work.baseline_drafts}-draft sample ({naive_calls} calls)",
                round(ratio, 2) if ratio else None, work.batch_target, ratio is not None and ratio >= threshold),
        Measure(name, "throughput vs the naive pattern's ceiling", round(ours_rate, 1), "inv/min",
                round(naive_ceiling, 1), "2 calls per invoice at the most the per-second and per-minute limits "
                "allow (cross-check without latency)", round(ours_rate / naive_ceiling, 2), work.batch_target,
                ours_rate / naive_ceiling >= threshold),
        *largest,
        refusals_measure(name, list(refused)),
    ]


XERO_UNCAPPED_BATCH = 100
"""Xero documents no cap on invoices per request: only "we recommend you … batch elements in bundles of up to 50"
and a request size of at most 3.5 MB (newer notes say 10 MB), per /work/shared/reference/ledgers.md §2.1
(developer.xero.com/faq/limits as quoted by Xero's partners). So beside the ideal at 50 a call (what
``connectors.xero.MAX_BATCH`` sends), the ideal at 100 a call is reported. QBO documents its cap: "maximum number
of payloads in a single BatchItemRequest is 30" (ledgers.md §1.1), what Closeout sends: its ideal is at the cap."""


def _at_the_largest_batch(work: Workload, seconds: float) -> list[Measure]:
    """Xero only: the push time against the ideal at 100 invoices a call (informative, no target)."""
    if work.kind != "xero":
        return []
    calls = math.ceil(work.drafts / XERO_UNCAPPED_BATCH)
    ideal = ideal_seconds(work.kind, calls) / work.time_scale
    label = (f"ideal for {calls} calls of {XERO_UNCAPPED_BATCH}: Xero documents no cap per request, only bundles "
             "of up to 50 recommended and 3.5 MB a request (ledgers.md §2.1)")
    return [Measure(work.scenario, f"push time vs the ideal at {XERO_UNCAPPED_BATCH} invoices a call",
                    round(seconds, 2), "s", round(ideal, 2), label, round(ideal / seconds, 3) if seconds else None,
                    "", None)]
