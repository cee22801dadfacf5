"""The closeout-pipeline flow: pull every source, prepare drafts, push them, publish the run summary."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from closeout.config import CompanyConfig, SourceConfig
from closeout.queue_report import publish_queue_report
from closeout.run_report import track_push
from closeout.steps.counts import StepCounts
from closeout.steps.intake import pull_source
from closeout.steps.prepare import prepare_batch
from closeout.steps.push_backlog import push_backlog
from closeout.wiring import App, open_app
from flows.retrying import is_retriable
from flows.ingest_mail import ingest_company_mail
from flows.reporting import publish_day_reports_task



RETRY = {"retries": 3, "retry_delay_seconds": [2, 10, 30], "retry_condition_fn": is_retriable, "cache_policy": NO_CACHE}


@task(name="pull-source", task_run_name="pull {company.id} {source.name}", **RETRY)
def pull_source_task(app: App, company: CompanyConfig, source: SourceConfig) -> StepCounts:
    return pull_source(app, company, source)


@task(name="prepare-drafts", task_run_name="prepare drafts (batch {batch})", cache_policy=NO_CACHE)
def prepare_drafts_task(app: App, batch: int, run_id: str) -> StepCounts:
    return prepare_batch(app, run_id=run_id)


@task(name="push-invoices", task_run_name="push {company.id} to {company.ledger.kind}", **RETRY)
def push_invoices_task(app: App, company: CompanyConfig) -> StepCounts:
    # the whole backlog, full batches as fast as the ledger allows; the progress artifact moves each batch
    return push_backlog(app, company, on_batch=lambda step: track_push(app, company, step))


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary_task(counts: StepCounts) -> None:
    create_table_artifact(key="closeout-run-summary", table=counts.as_rows(), description="What this run did")
    if counts.invoices:
        create_table_artifact(key="closeout-invoices-pushed", table=counts.invoices,
                              description="Invoices this run created in the ledger")


@task(name="publish-queue-report", cache_policy=NO_CACHE)
def publish_queue_report_task(app: App, since: datetime) -> dict[str, int]:
    return publish_queue_report(app, since=since)


def run_pipeline(app: App) -> StepCounts:
    """The recipe, usable from any flow that already holds an open app."""
    started = datetime.now(UTC)
    run_id = str(flow_run.get_id() or "local")
    counts = StepCounts()
    for company in app.companies():
        for source in company.sources:
            counts += pull_source_task(app, company, source)
        counts += ingest_company_mail(app, company).as_step_counts()  # after the pull: mail matches those jobs
    batch = 0
    while (step := prepare_drafts_task(app, batch, run_id)).evaluated:
        counts += step
        batch += 1
    for company in app.companies():
        counts += push_invoices_task(app, company)  # push_backlog claims until nothing is left
    publish_summary_task(counts)
    publish_day_reports_task(app, counts)
    publish_queue_report_task(app, started)
    get_run_logger().info("Run summary: %s", {row["measure"]: row["value"] for row in counts.as_rows()})
    return counts


@flow(name="closeout-pipeline", log_prints=True)
def closeout_pipeline(config_path: str | None = None) -> StepCounts:
    """Pull → normalise and apply rules → push, for every company in the config."""
    with open_app(config_path=Path(config_path) if config_path else None) as app:
        return run_pipeline(app)
