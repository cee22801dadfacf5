"""The flows each deployment runs: pull per source, mail per mailbox, drafts, push per ledger, nightly reconcile."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prefect import flow
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from services.config import CompanyConfig, ConfigError, SourceConfig
from services.mailbox_config import MailboxConfig
from closeout.orchestration.pacing import CompanyPacer
from services.counts import StepCounts
from services.mail.ingest import MailCounts
from closeout.wiring import App
from flows._tasks import (
    apply_retention_task,
    open_config,
    prepare_drafts_task,
    publish_mail_summary_task,
    publish_reconcile_task,
    publish_summary_task,
    pull_source_task,
    read_mailboxes,
    push_batch_task,
    reconcile_task,
)


class CompanyTarget(BaseModel):
    """Which company a run is about (the Prefect UI shows this as a form)."""

    company: str | None = Field(default=None, description="a company id from the config; empty for every company")


class SourceTarget(CompanyTarget):
    source: str | None = Field(default=None, description="a source name of that company; empty for all its sources")


class MailboxTarget(CompanyTarget):
    mailbox: str | None = Field(default=None, description="a mailbox name of that company; empty for all of them")


class PushTarget(CompanyTarget):
    max_batches: int | None = Field(default=None, ge=1, description="stop after this many batches (a ledger "
                                                                   "request's worth each); empty pushes until "
                                                                   "nothing is ready")
    in_flight: int = Field(default=1, ge=1, le=10, description="batches this run keeps going at once, each its own "
                                                               "task under the ledger's shared limits; with several "
                                                               "runs side by side, keep runs × in_flight within the "
                                                               "ledger's concurrency (QuickBooks 10, Xero 5)")


def run_name(verb: str, *fields: str) -> Callable[[], str]:
    """A flow-run namer: ``pull acme jobber``; the fields come from the run's ``target`` parameter."""

    def name() -> str:
        target = flow_run.parameters.get("target") or {}
        values = target.model_dump() if isinstance(target, BaseModel) else dict(target)
        named = [str(values[field]) for field in ("company", *fields) if values.get(field)]
        return f"{verb} {' '.join(named) or 'every company'}"

    return name


def select_companies(app: App, target: CompanyTarget) -> tuple[CompanyConfig, ...]:
    if target.company is None:
        return app.companies()
    return (app.config.company(target.company),)


def select_sources(app: App, target: SourceTarget) -> Iterator[tuple[CompanyConfig, SourceConfig]]:
    for company in select_companies(app, target):
        sources = [s for s in company.sources if target.source in (None, s.name)]
        if target.source and not sources:
            raise ConfigError(f"company {company.id!r} has no source {target.source!r}")
        yield from ((company, source) for source in sources)


def select_mailboxes(app: App, target: MailboxTarget) -> Iterator[tuple[CompanyConfig, MailboxConfig]]:
    for company in select_companies(app, target):
        mailboxes = [m for m in company.mailboxes if target.mailbox in (None, m.name)]
        if target.mailbox and not mailboxes:
            raise ConfigError(f"company {company.id!r} has no mailbox {target.mailbox!r}")
        yield from ((company, mailbox) for mailbox in mailboxes)


@flow(name="pull-source", flow_run_name=run_name("pull", "source"), log_prints=True)
def pull_sources(target: SourceTarget = SourceTarget(), config_path: str | None = None) -> StepCounts:
    """Pull new and changed jobs from one source (or every source of a company, or of every company)."""
    with open_config(config_path) as app:
        counts = StepCounts()
        for company, source in select_sources(app, target):
            counts += pull_source_task(app, company, source)
        publish_summary_task(counts)
        return counts


@flow(name="ingest-mailbox", flow_run_name=run_name("mail", "mailbox"), log_prints=True)
def ingest_mailboxes(target: MailboxTarget = MailboxTarget(), config_path: str | None = None) -> MailCounts:
    """Read one mailbox (or a company's, or all) and attach what it holds to work orders; the rest is queued."""
    with open_config(config_path) as app:
        counts = read_mailboxes(app, select_mailboxes(app, target))
        publish_mail_summary_task(counts)
        return counts


@flow(name="prepare-drafts", flow_run_name="prepare drafts", log_prints=True)
def prepare_drafts(config_path: str | None = None) -> StepCounts:
    """Apply the rules to every changed work order and prepare invoice drafts, batch by batch."""
    with open_config(config_path) as app:
        counts, batch = StepCounts(), 0
        while (step := prepare_drafts_task(app, batch, str(flow_run.get_id() or "local"))).evaluated:
            counts += step
            batch += 1
        publish_summary_task(counts)
        return counts


@flow(name="push-ledger", flow_run_name=run_name("push"), log_prints=True)
def push_ledger(target: PushTarget = PushTarget(), config_path: str | None = None) -> StepCounts:
    """Push one company's ready drafts to its ledger, batch by batch; runs side by side claim different drafts.

    Unlike the pipeline's push task (one process, a whole backlog, several threads), each batch here is one
    task making one ledger request at a time, so the company's concurrency tag counts requests on all workers.
    """
    with open_config(config_path) as app:
        counts = StepCounts()
        for company in select_companies(app, target):
            with CompanyPacer(company.ledger).holding_a_slot():  # the ledger's concurrent calls, over every worker
                counts += push_batches(app, company, in_flight=target.in_flight, max_batches=target.max_batches)
        publish_summary_task(counts)
        return counts


def push_batches(app: App, company: CompanyConfig, *, in_flight: int, max_batches: int | None) -> StepCounts:
    """``push_batch_task`` runs, ``in_flight`` at once, until one claims nothing (or ``max_batches`` ran): each
    batch claims its own drafts in the store, so batches side by side never send one draft twice."""
    counts, started, drained = StepCounts(), 0, False
    running: list = []
    while True:
        while not drained and len(running) < in_flight and (max_batches is None or started < max_batches):
            running.append(push_batch_task.submit(app, company, started))
            started += 1
        if not running:
            return counts
        step = running.pop(0).result()
        counts += step
        drained = drained or not step.pushed + step.rejected + step.uncertain


@flow(name="reconcile-ledgers", flow_run_name=run_name("reconcile"), log_prints=True)
def reconcile_ledgers(target: CompanyTarget = CompanyTarget(), config_path: str | None = None) -> dict:
    """Compare what was pushed with what each ledger holds; every finding opens a case and lands in a table. Then
    apply each company's ``retention_days`` (nothing is dropped where it is unset)."""
    with open_config(config_path) as app:
        rows, checked, payments = [], 0, {}
        for company in select_companies(app, target):
            report = reconcile_task(app, company)
            rows += report.rows()
            checked += report.records_checked
            payments[company.id] = report.payment_summary()
        publish_reconcile_task(rows, checked, payments)
        dropped = apply_retention_task(app)  # nightly, after the reconcile: what retention_days lets go
        return {"records_checked": checked, "findings": len(rows), "payments": payments, "retention": dropped}
