"""The flows each deployment runs: pull per source, mail per mailbox, drafts, push per ledger, nightly reconcile."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from closeout.config import CompanyConfig, ConfigError, SourceConfig
from closeout.mailbox_config import MailboxConfig
from closeout.pacing import CompanyPacer
from closeout.reconcile import ReconcileReport, reconcile
from closeout.steps.counts import StepCounts
from closeout.run_report import track_push
from closeout.steps.mail import MailCounts
from closeout.steps.push import push_batch
from closeout.wiring import App, open_app
from flows.ingest_mail import check_mailbox_health_task, ingest_mailbox_task
from flows.pipeline import RETRY, prepare_drafts_task, publish_summary_task, pull_source_task


class CompanyTarget(BaseModel):
    """Which company a run is about (the Prefect UI shows this as a form)."""

    company: str | None = Field(default=None, description="a company id from the config; empty for every company")


class SourceTarget(CompanyTarget):
    source: str | None = Field(default=None, description="a source name of that company; empty for all its sources")


class MailboxTarget(CompanyTarget):
    mailbox: str | None = Field(default=None, description="a mailbox name of that company; empty for all of them")


class PushTarget(CompanyTarget):
    max_batches: int | None = Field(default=None, ge=1, description="stop after this many batches (of 30); "
                                                                   "empty pushes until nothing is ready")


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


def _open(config_path: str | None):
    return open_app(config_path=Path(config_path) if config_path else None)


@flow(name="pull-source", flow_run_name=run_name("pull", "source"), log_prints=True)
def pull_sources(target: SourceTarget = SourceTarget(), config_path: str | None = None) -> StepCounts:
    """Pull new and changed jobs from one source (or every source of a company, or of every company)."""
    with _open(config_path) as app:
        counts = StepCounts()
        for company, source in select_sources(app, target):
            counts += pull_source_task(app, company, source)
        publish_summary_task(counts)
        return counts


@flow(name="ingest-mailbox", flow_run_name=run_name("mail", "mailbox"), log_prints=True)
def ingest_mailboxes(target: MailboxTarget = MailboxTarget(), config_path: str | None = None) -> MailCounts:
    """Read one mailbox (or a company's, or all) and attach what it holds to work orders; the rest is queued."""
    with _open(config_path) as app:
        counts = MailCounts()
        for company, mailbox in select_mailboxes(app, target):
            state = ingest_mailbox_task(app, company, mailbox, return_state=True)
            if state.is_completed():  # a failing mailbox does not stop the others; its health check says why
                counts += state.result()
            else:
                get_run_logger().error("mailbox %s/%s failed: %s", company.id, mailbox.name, state.message)
            check_mailbox_health_task(app, company, mailbox)
        create_table_artifact(key="closeout-mail-summary", table=counts.as_rows(), description="What this mail run did")
        return counts


@flow(name="prepare-drafts", flow_run_name="prepare drafts", log_prints=True)
def prepare_drafts(config_path: str | None = None) -> StepCounts:
    """Apply the rules to every changed work order and prepare invoice drafts, batch by batch."""
    with _open(config_path) as app:
        counts, batch = StepCounts(), 0
        while (step := prepare_drafts_task(app, batch, str(flow_run.get_id() or "local"))).evaluated:
            counts += step
            batch += 1
        publish_summary_task(counts)
        return counts


@task(name="push-batch", task_run_name="push {company.id} to {company.ledger.kind} (batch {batch})", **RETRY)
def push_batch_task(app: App, company: CompanyConfig, batch: int) -> StepCounts:
    """One claimed batch, each ledger request paced by the company's shared limits (closeout.pacing)."""
    return track_push(app, company, push_batch(app, company))


@flow(name="push-ledger", flow_run_name=run_name("push"), log_prints=True)
def push_ledger(target: PushTarget = PushTarget(), config_path: str | None = None) -> StepCounts:
    """Push one company's ready drafts to its ledger, batch by batch; runs side by side claim different drafts.

    Unlike the pipeline's push task (one process, a whole backlog, several threads), each batch here is one
    task making one ledger request at a time, so the company's concurrency tag counts requests on all workers.
    """
    with _open(config_path) as app:
        counts = StepCounts()
        for company in select_companies(app, target):
            batch, pacer = 0, CompanyPacer(company.ledger)
            while target.max_batches is None or batch < target.max_batches:
                with pacer.holding_a_slot():  # at most the ledger's concurrent calls, counted over every worker
                    step = push_batch_task(app, company, batch)
                counts += step
                batch += 1
                if not step.pushed + step.rejected + step.uncertain:
                    break
        publish_summary_task(counts)
        return counts


@task(name="reconcile-ledger", task_run_name="reconcile {company.id} in {company.ledger.kind}", cache_policy=NO_CACHE)
def reconcile_task(app: App, company: CompanyConfig) -> ReconcileReport:
    return reconcile(app, company_id=company.id)


@flow(name="reconcile-ledgers", flow_run_name=run_name("reconcile"), log_prints=True)
def reconcile_ledgers(target: CompanyTarget = CompanyTarget(), config_path: str | None = None) -> dict:
    """Compare what was pushed with what each ledger holds; every finding opens a case and lands in a table."""
    with _open(config_path) as app:
        rows, checked = [], 0
        for company in select_companies(app, target):
            report = reconcile_task(app, company)
            rows += report.rows()
            checked += report.records_checked
        create_table_artifact(key="closeout-reconcile", table=rows or [{"finding": "none", "records checked": checked}],
                              description="Pushed invoices against what the ledgers hold")
        return {"records_checked": checked, "findings": len(rows)}
