"""Scenario 7: two companies' backlogs (QBO and Xero) in one PostgreSQL store, pushed by two Prefect process workers.

A Prefect server (its own PostgreSQL database) and two ``prefect worker start --type process`` workers
(``bench.scale_out_fleet``, the fault campaign's fleet) run prefect.yaml's ``push-invoices`` deployment:
``runs_per_company`` flow runs per company, submitted alternately once both workers are online, so each worker
pushes to both ledgers at once. Every run claims drafts from the same store; the ledgers' limits are the
Prefect global concurrency limits the runs share (``closeout.orchestration.pacing``), against one sandbox that
enforces the real limits, time-scaled. Per ledger: push time (the company's first run start to its last run
end, Prefect's own times) against the ideal the backlog scenarios compute (``bench.ledger_bench.ideal_seconds``),
the sandbox's refused calls, and every draft's doc number counted once among the ledger's invoices.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from bench.generate import TABLES, customer, ready_drafts, xero_tables
from bench.ledger_bench import (backlog_orders, config_text, ideal_seconds, insert_ready, limit_counts,
                                sandbox_stats, seed_customers, set_limits)
from bench.measure import Measure, refusals_measure
from bench.scale_out_fleet import PushFleet
from closeout.settings import Settings
from closeout.wiring import App, open_app
from connectors.qbo import CUSTOMER_PAGE
from sandbox.server import running_sandbox
from services.push.pacing import LIMITS, token_bucket
from services.push.together import BATCH_SIZES
from storage.database import store_url

__all__ = ["SIZES", "ScaleOut", "run", "run_scale_out"]

COMPANIES = {"quickbooks": ("qbo-co", "9130377071"), "xero": ("xero-co", "b3e1a2c4-0000-4000-8000-00000be4c471")}
"""Ledger kind → (company id, realm or tenant). The ids' initials (Q, X) prefix the jobs and customers."""
NAMES = {"quickbooks": "7 scale-out QBO", "xero": "7 scale-out Xero"}
"""One scenario name per ledger, so a refusal on one ledger marks only that ledger's targets not met."""
POSTGRES = "CLOSEOUT_TEST_POSTGRES_URL"
"""The PostgreSQL server to use (default postgresql+psycopg://postgres@127.0.0.1:5432/test), as the tests'."""


@dataclass(frozen=True)
class ScaleOut:
    drafts: dict[str, int]  # ledger kind → ready drafts of its company
    customers: int  # per company, known to the ledger and in the mapping table
    time_scale: float
    runs_per_company: int  # push-invoices flow runs per company
    runs_per_worker: int  # each worker's --limit
    in_flight: dict[str, int]  # ledger kind → batches each run keeps going (runs × in_flight ≤ its concurrency)
    timeout: float = 600.0  # for the runs to finish (real seconds)


SIZES = {
    # QBO: 81 batch calls of 30 (the 81st may start at 120 ledger s, 40 s at time scale 3); Xero: 61 calls of 50
    # (the 61st at 60 ledger s, 20 s). Two runs per company, two per worker; batches in flight within each
    # ledger's concurrency (QBO 10: 2 × 4; Xero 5: 2 × 2).
    "full": ScaleOut(drafts={"quickbooks": 2_430, "xero": 3_050}, customers=600, time_scale=3, runs_per_company=2,
                     runs_per_worker=2, in_flight={"quickbooks": 4, "xero": 2}),
    # still two real process workers, each taking one run of each company
    "tiny": ScaleOut(drafts={"quickbooks": 60, "xero": 60}, customers=20, time_scale=60, runs_per_company=2,
                     runs_per_worker=2, in_flight={"quickbooks": 2, "xero": 2}),
}


def run(size: str) -> list[Measure]:
    return run_scale_out(SIZES[size])[0]


def run_scale_out(work: ScaleOut) -> tuple[list[Measure], dict[str, Any]]:
    """Queue both backlogs, push them with the fleet, count what the sandbox holds; the measures and the facts."""
    with tempfile.TemporaryDirectory(prefix="closeout-bench-scale-") as folder, _postgres() as (store, prefect_db):
        home = Path(folder)
        config = home / "bench.toml"
        config.write_text("\n".join(config_text(kind, {company: ident}) for kind, (company, ident)
                                    in COMPANIES.items()), encoding="utf-8")
        with running_sandbox(home / "sandbox") as sandbox_url:
            env = {**os.environ, "CLOSEOUT_HOME": str(home), "CLOSEOUT_DATABASE_URL": store,
                   "CLOSEOUT_CONFIG": str(config), "CLOSEOUT_SANDBOX_URL": sandbox_url,
                   "CLOSEOUT_LEDGER_TIME_SCALE": str(work.time_scale)}
            (home / "fleet").mkdir()
            fleet = PushFleet(home / "fleet", prefect_db, env, workers=2, runs_per_worker=work.runs_per_worker)
            starting = ThreadPoolExecutor(max_workers=1)
            fleet_up = starting.submit(fleet.start)  # server, deployment and workers come up while the data is made
            try:
                settings = Settings(home=home, database_url=store, config=config, sandbox_url=sandbox_url)
                with open_app(settings=settings, config_path=config) as app:
                    set_limits(app, enabled=False)
                    for kind, (company, ident) in COMPANIES.items():
                        seed_customers(app, kind, ident, company[:1].upper(), range(work.customers))
                        _queue_mapped_drafts(app, kind, work.drafts[kind], work.customers)
                    before = {kind: sandbox_stats(app, kind, ident) for kind, (_, ident) in COMPANIES.items()}
                    fleet_up.result()
                    set_limits(app, enabled=True, time_scale=work.time_scale)  # the tally starts here
                    started = time.perf_counter()
                    company_of = {}  # alternately, so each worker takes runs of both companies
                    for _ in range(work.runs_per_company):
                        for kind, (company, _ident) in COMPANIES.items():
                            company_of[fleet.submit_push(company, in_flight=work.in_flight[kind])] = kind
                    runs = fleet.wait_for_runs(work.timeout)
                    wall = time.perf_counter() - started
                    refused = limit_counts(app)["refused"]  # before the limits go off: that clears the tally
                    by_worker = fleet.runs_by_worker()
                    set_limits(app, enabled=False)
                    facts = {"wall_seconds": wall, "refused": refused, "runs_by_worker": by_worker,
                             "run_states": Counter(run["state_name"] for run in runs)}
                    for kind, (company, ident) in COMPANIES.items():
                        facts[kind] = _ledger_facts(app, kind, ident, before[kind],
                                                    [run for run in runs if company_of[run["id"]] == kind], by_worker)
            finally:
                starting.shutdown(wait=True)  # a fleet still starting is stopped only once it is up
                fleet.stop()
    return [m for kind in COMPANIES for m in measures(work, kind, facts[kind], refused)], facts


@contextmanager
def _postgres() -> Iterator[tuple[str, str]]:
    """A private schema for the store (its URL sets search_path) and a private database for the Prefect server;
    both dropped after, whoever is still connected."""
    server = store_url(os.environ.get(POSTGRES, "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    engine = sa.create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 5})
    tag = uuid.uuid4().hex[:12]
    schema, database = f"bench_scale_out_{tag}", f"prefect_bench_{tag}"
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    try:
        yield (server.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False),
               server.set(drivername="postgresql+asyncpg", database=database).render_as_string(hide_password=False))
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _queue_mapped_drafts(app: App, kind: str, count: int, customers: int) -> None:
    """``count`` version-1 work orders and their drafts as ``ready`` push records, every customer in the mapping
    table (the ledger ids just seeded): a run's push makes no customer look-up, only invoice calls."""
    company, _ = COMPANIES[kind]
    prefix = company[:1].upper()
    ledger = app.ledger_for(app.config.company(company))
    ids: dict[str, str] = {}
    page, rows = 1, None
    while rows is None or len(rows) == CUSTOMER_PAGE:
        rows = ledger.list_customers(page=page)
        ids.update({name: ledger_id for ledger_id, name, _ in rows if ledger_id})
        page += 1
    mapped = {source_id: ids[name] for source_id, name, _ in (customer(prefix, n) for n in range(customers))}
    tables = (xero_tables() if kind == "xero" else TABLES).model_copy(update={"customers": mapped})
    orders = backlog_orders(company, count, customers, currency="NZD" if kind == "xero" else "USD")
    drafts = ready_drafts(orders, ledger=kind, tables=tables, doc_prefix=f"{prefix}-")
    if any(draft.customer_ref is None for draft in drafts):
        raise RuntimeError("a generated draft's customer is not in the mapping table")
    insert_ready(app, orders, drafts)


def _ledger_facts(app: App, kind: str, ident: str, before: dict[str, Any], runs: list[dict],
                  by_worker: dict[str, list[str]]) -> dict[str, Any]:
    """One ledger's side: its runs' span, the calls the sandbox served, and its invoices counted by doc number."""
    company, _ = COMPANIES[kind]
    after = sandbox_stats(app, kind, ident)
    with app.store.unit_of_work() as uow:
        records = [r for r in uow.push_records.all() if r.company == company]
    docs = Counter(invoice_numbers(app.sandbox_url, kind, ident))
    wanted = {r.doc_number for r in records}
    starts = [_when(run["start_time"]) for run in runs if run.get("start_time")]
    ends = [_when(run["end_time"]) for run in runs if run.get("end_time")]
    ids = {run["id"] for run in runs}
    return {
        "drafts": len(records), "statuses": Counter(r.status.value for r in records),
        "attempts": Counter(r.attempts for r in records),
        "pushed_once": sum(1 for doc in wanted if docs.get(doc) == 1),
        "duplicates": sum(n - 1 for n in docs.values() if n > 1), "unknown": sum(1 for doc in docs if doc not in wanted),
        "invoices": sum(docs.values()), "ledger_calls": after["requests"] - before["requests"],
        "push_seconds": (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0,
        "runs": {run["id"]: run["state_name"] for run in runs},
        "workers": {worker: sum(1 for run_id in found if run_id in ids) for worker, found in by_worker.items()},
    }


def invoice_numbers(sandbox_url: str, kind: str, ident: str) -> list[str]:
    """The doc number of every invoice the sandbox holds for the company, read 1,000 a request with the ledger's
    own query API (the SDKs would parse every invoice into objects: minutes for a backlog of thousands)."""
    numbers: list[str] = []
    with httpx.Client(base_url=sandbox_url, headers={"Authorization": "Bearer bench"}, timeout=120,
                      trust_env=False) as http:
        while True:
            if kind == "quickbooks":
                query = f"select * from Invoice STARTPOSITION {len(numbers) + 1} MAXRESULTS 1000"
                answer = http.get(f"/v3/company/{ident}/query", params={"query": query})
                answer.raise_for_status()
                page = [row.get("DocNumber") for row in answer.json()["QueryResponse"].get("Invoice", [])]
            else:
                answer = http.get("/api.xro/2.0/Invoices", headers={"xero-tenant-id": ident}, params={
                    "where": 'Type=="ACCREC"', "page": len(numbers) // 1000 + 1, "pageSize": 1000})
                answer.raise_for_status()
                page = [row.get("InvoiceNumber") for row in answer.json().get("Invoices", [])]
            numbers += page
            if len(page) < 1000:
                return numbers


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def paced_seconds(kind: str, calls: int, time_scale: float) -> float:
    """Real seconds until the last of ``calls`` may start under the token buckets the Prefect global limits use
    (``services.push.pacing.token_bucket``: no window more than 95 % full, arrival jitter counted), batch calls for QBO."""
    limits = LIMITS[kind]
    buckets = [token_bucket(limits.windows, time_scale)]
    if limits.batch_windows:
        buckets.append(token_bucket(limits.batch_windows, time_scale))
    return max(max(0.0, (calls - burst) / rate) for burst, rate in buckets)


def measures(work: ScaleOut, kind: str, facts: dict[str, Any], refused: list[dict[str, Any]]) -> list[Measure]:
    """The ledger's measures: push time against the ideal and the shared limits' pace, calls per invoice, drafts
    pushed exactly once, the runs each worker took, and the sandbox's refusals of this ledger's calls."""
    name, scale, drafts = NAMES[kind], work.time_scale, work.drafts[kind]
    batch = BATCH_SIZES[kind]
    calls = math.ceil(drafts / batch)
    ideal = ideal_seconds(kind, calls) / scale
    seconds, made, pushed = facts["push_seconds"], facts["ledger_calls"], facts["statuses"].get("pushed", 0)
    paced = paced_seconds(kind, made, scale)
    once = facts["pushed_once"]
    workers = ", ".join(f"{worker} {n}" for worker, n in facts["workers"].items())
    ran = sum(1 for n in facts["workers"].values() if n)
    system = "qbo" if kind == "quickbooks" else "xero"
    return [
        Measure(name, "push time (real s)", round(seconds, 2), "s", round(ideal, 2),
                f"ideal for {calls} calls of {batch} at the sandbox's limits, time scale {scale:g}",
                round(ideal / seconds, 3) if seconds else None, ">= 0.85", bool(seconds) and ideal / seconds >= 0.85),
        Measure(name, "push time vs the shared limits' pace", round(seconds, 2), "s", round(paced, 2),
                f"the Prefect global limits' token buckets (95 % of each window, arrival jitter counted) for the {made} calls made",
                round(paced / seconds, 3) if seconds else None, "", None),
        Measure(name, "ledger calls per invoice", round(made / pushed, 4) if pushed else 0.0, "calls/invoice",
                round(1 / batch, 4), f"1/{batch}: full batches ({made} calls counted by the sandbox)",
                round(made / pushed * batch, 3) if pushed else None, "", None),
        Measure(name, "drafts pushed exactly once (invoices by doc number)", once, "drafts", drafts,
                f"{drafts:,} drafts; {facts['duplicates']} duplicate and {facts['unknown']} unknown invoices",
                round(once / drafts, 3), "== all drafts",
                once == drafts == facts["drafts"] and not facts["duplicates"] and not facts["unknown"]),
        Measure(name, "process workers that ran its push-invoices runs", ran, "workers", len(facts["workers"]),
                f"{len(facts['runs'])} runs; by worker: {workers}", None, "", None),
        refusals_measure(name, [entry for entry in refused if entry["system"].startswith(system)]),
    ]
