"""Every Prefect task of the flows, and the one retry policy they share.

A task is a thin, named, retried call of one service step; the flows in this folder only put them in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.states import Failed, State

from services.config import CompanyConfig, SourceConfig
from services.corrections import apply_by_policy
from services.health import HealthRow, check_company, record_problems
from services.mailbox_config import MailboxConfig
from closeout.orchestration.queue_report import publish_queue_report, ui_url
from services.reconcile import ReconcileReport, reconcile
from services.retention import apply_retention
from closeout.orchestration.run_report import (
    begin_push, company_day, day_report, day_report_markdown, report_key, track_mail, track_push,
)
from services.counts import StepCounts, describe_amounts
from services.intake import pull_job, pull_source
from services.mail.ingest import MailCounts, check_mailbox_health, ingest_mailbox
from services.prepare import prepare_batch
from services.push.batch import push_batch
from services.outages import OUTAGE_ERRORS, CompaniesFailedError, record_outage
from services.push.backlog import push_backlog
from closeout.wiring import App, open_app
from connectors.errors import RetriableError


def is_retriable(task, task_run, state) -> bool:
    """Retry timeouts, dropped connections, 429 and 5xx (RetriableError); a refusal or a config error never."""
    try:
        state.result()
    except RetriableError:
        return True
    except Exception:  # noqa: BLE001 - anything else is not worth retrying
        return False
    return False


RETRY = {"retries": 3, "retry_delay_seconds": [2, 10, 30], "retry_condition_fn": is_retriable, "cache_policy": NO_CACHE}


def open_config(config_path: str | None):
    """The wired application for a flow's ``config_path`` parameter (None: the default config)."""
    return open_app(config_path=Path(config_path) if config_path else None)


# --- sources -----------------------------------------------------------------------------------------------

@task(name="pull-source", task_run_name="pull {company.id} {source.name}", **RETRY)
def pull_source_task(app: App, company: CompanyConfig, source: SourceConfig) -> StepCounts:
    return pull_source(app, company, source)


@task(name="pull-job", **RETRY)
def pull_job_task(config_path: str | None, company_id: str, source_name: str, job_id: str) -> int:
    with open_config(config_path) as app:
        company = app.config.company(company_id)
        source = next(s for s in company.sources if s.name == source_name)
        return pull_job(app, company, source, job_id).changed


# --- drafts and pushes -------------------------------------------------------------------------------------

@task(name="prepare-drafts", task_run_name="prepare drafts (batch {batch})", cache_policy=NO_CACHE)
def prepare_drafts_task(app: App, batch: int, run_id: str) -> StepCounts:
    return prepare_batch(app, run_id=run_id)


@task(name="push-invoices", task_run_name="push {company.id} to {company.ledger.kind}", **RETRY)
def push_invoices_task(app: App, company: CompanyConfig) -> StepCounts:
    # the whole backlog, full batches as fast as the ledger allows; the progress artifact moves each batch
    begin_push(app, company)
    return push_backlog(app, company, on_batch=lambda step: track_push(app, company, step))


@task(name="push-batch", task_run_name="push {company.id} to {company.ledger.kind} (batch {batch})", **RETRY)
def push_batch_task(app: App, company: CompanyConfig, batch: int) -> StepCounts:
    """One claimed batch, each ledger request paced by the company's shared limits (closeout.orchestration.pacing)."""
    return track_push(app, company, push_batch(app, company))


@task(name="record-outage", task_run_name="outage {company.id} {kind} {name}", cache_policy=NO_CACHE)
def record_outage_task(app: App, company: CompanyConfig, kind: str, name: str, error: Exception) -> StepCounts:
    return record_outage(app, company, kind, name, error)


def on_its_own(state: State, app: App, company: CompanyConfig, *, kind: str, name: str) -> StepCounts:
    """The counts of one company's task; when it failed (after its retries) because its source or ledger is
    down, refuses us or lacks credentials, a connection_failed case and one line instead, so the other
    companies go on. Anything else (a bug, the store down) still stops the run."""
    if state.is_completed():
        return state.result()
    error = state.result(raise_on_failure=False)
    if not isinstance(error, OUTAGE_ERRORS):
        raise error if isinstance(error, BaseException) else RuntimeError(state.message)
    get_run_logger().warning("%s: %s %s failed, the other companies go on: %s", company.id, kind, name, error)
    return record_outage_task(app, company, kind, name, error)


def pull_company(app: App, company: CompanyConfig) -> StepCounts:
    """Every source of one company, each on its own."""
    counts = StepCounts()
    for source in company.sources:
        state = pull_source_task(app, company, source, return_state=True)
        counts += on_its_own(state, app, company, kind="source", name=source.name)
    return counts


def push_company(app: App, company: CompanyConfig) -> StepCounts:
    """One company's whole backlog, on its own."""
    state = push_invoices_task(app, company, return_state=True)
    return on_its_own(state, app, company, kind="ledger", name=company.ledger.kind)


def finish_run(counts: StepCounts) -> StepCounts | State:
    """The run's counts; when some company could not run, a Failed state that says which in one line (the
    dashboard and the failed-run automation see it) and carries the counts (``CompaniesFailedError.counts``)."""
    if not counts.failed:
        return counts
    lines = "; ".join(counts.failure_lines())[:900]
    return Failed(message=f"{len(counts.failed)} company step(s) could not run: {lines}",
                  data=CompaniesFailedError(counts))


@task(name="reconcile-ledger", task_run_name="reconcile {company.id} in {company.ledger.kind}", cache_policy=NO_CACHE)
def reconcile_task(app: App, company: CompanyConfig) -> ReconcileReport:
    return reconcile(app, company_id=company.id)


# --- mail --------------------------------------------------------------------------------------------------

@task(name="ingest-mailbox", task_run_name="mail {company.id} {mailbox.name}", retries=2,
      retry_delay_seconds=[2, 10], retry_condition_fn=is_retriable, cache_policy=NO_CACHE)
def ingest_mailbox_task(app: App, company: CompanyConfig, mailbox: MailboxConfig) -> MailCounts:
    """One mailbox, batch by batch (each batch one transaction with its cursor)."""
    return ingest_mailbox(app, company, mailbox, emit=emit_event)


@task(name="check-mailbox-health", task_run_name="health {company.id} {mailbox.name}", cache_policy=NO_CACHE)
def check_mailbox_health_task(app: App, company: CompanyConfig, mailbox: MailboxConfig) -> bool:
    return check_mailbox_health(app, company, mailbox, emit=emit_event)


def read_mailboxes(app: App, mailboxes: Iterable[tuple[CompanyConfig, MailboxConfig]]) -> MailCounts:
    """The mailbox loop of every flow: a mailbox that fails does not stop the others (or the pipeline); its
    failure is logged, its health checked (a case and an event when it stalls) and the run goes on."""
    counts = MailCounts()
    for company, mailbox in mailboxes:
        state = ingest_mailbox_task(app, company, mailbox, return_state=True)
        if state.is_completed():
            counts += state.result()
        else:
            get_run_logger().error("mailbox %s/%s failed: %s", company.id, mailbox.name, state.message)
        check_mailbox_health_task(app, company, mailbox)
        track_mail(company, mailbox)  # the run's mail progress artifact moves
    return counts


# --- health ------------------------------------------------------------------------------------------------

@task(name="check-company-health", task_run_name="health {company.id}", cache_policy=NO_CACHE)
def check_company_task(app: App, company: CompanyConfig, stale_after_hours: float,
                       token_warning_days: float | None) -> list[HealthRow]:
    return check_company(app, company, stale_after=timedelta(hours=stale_after_hours),
                         token_warning=timedelta(days=token_warning_days) if token_warning_days else None)


@task(name="record-health-problems", cache_policy=NO_CACHE)
def record_problems_task(app: App, rows: list[HealthRow]) -> int:
    return record_problems(app, rows, emit=emit_event)


@task(name="publish-health", cache_policy=NO_CACHE)
def publish_health_task(rows: list[HealthRow]) -> None:
    failing = sum(not row.ok for row in rows)
    create_table_artifact(key="closeout-health", table=[row.as_row() for row in rows],
                          description=f"{len(rows)} components checked, {failing} with a problem")


# --- the dashboard -----------------------------------------------------------------------------------------

@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary_task(counts: StepCounts) -> None:
    create_table_artifact(key="closeout-run-summary", table=counts.as_rows(), description="What this run did")
    if counts.invoices:
        create_table_artifact(key="closeout-invoices-pushed", table=counts.invoices,
                              description="Invoices this run created in the ledger")


@task(name="publish-mail-summary", cache_policy=NO_CACHE)
def publish_mail_summary_task(counts: MailCounts) -> None:
    create_table_artifact(key="closeout-mail-summary", table=counts.as_rows(), description="What this mail run did")


@task(name="publish-reconcile-report", cache_policy=NO_CACHE)
def publish_reconcile_task(rows: list[dict], checked: int, payments: dict[str, str] | None = None) -> None:
    paid = "; ".join(f"{company}: {summary}" for company, summary in (payments or {}).items() if summary)
    create_table_artifact(key="closeout-reconcile", table=rows or [{"finding": "none", "records checked": checked}],
                          description="Pushed invoices against what the ledgers hold"
                                      + (f". Payments: {paid}" if paid else ""))


@task(name="publish-queue-report", cache_policy=NO_CACHE)
def publish_queue_report_task(app: App, since: datetime) -> dict[str, int]:
    return publish_queue_report(app, since=since)


@task(name="publish-day-reports", task_run_name="daily reports", cache_policy=NO_CACHE)
def publish_day_reports_task(app: App, counts: StepCounts | None = None) -> list[str]:
    """One markdown artifact per company for its current day (``closeout-report-<company>-<yyyy-mm-dd>``);
    each run adds a new version holding the whole day so far."""
    keys = []
    now = datetime.now(UTC)
    for company in app.companies():
        day = company_day(company, now)
        report = day_report(app, company, day)
        key = report_key(company.id, day)
        create_markdown_artifact(key=key, markdown=day_report_markdown(company, day, report, run=counts,
                                                                       queue_url=ui_url()),
                                 description=f"{company.name}, {day:%Y-%m-%d}: {len(report['invoices'])} invoices, "
                                             f"{describe_amounts(report['by_currency'])}")
        keys.append(key)
    return keys


@task(name="apply-corrections", task_run_name="corrections {company.id}", cache_policy=NO_CACHE)
def apply_corrections_task(app: App, company: CompanyConfig) -> dict[str, int]:
    """Finish the company's recorded corrections and apply those its policy allows (``services.corrections``)."""
    outcomes = dict(apply_by_policy(app, company))
    if outcomes:
        get_run_logger().info("%s corrections: %s", company.id, outcomes)
    return outcomes


def correct_company(app: App, company: CompanyConfig) -> StepCounts:
    """One company's corrections, on their own like its pull and push (``on_its_own``); what they did is
    logged by the task, so the run's counts only carry a failure."""
    state = apply_corrections_task(app, company, return_state=True)
    if state.is_completed():
        return StepCounts()
    return on_its_own(state, app, company, kind="ledger", name=company.ledger.kind)


@task(name="apply-retention", task_run_name="retention", cache_policy=NO_CACHE)
def apply_retention_task(app: App) -> dict[str, int]:
    """Drop what each company's ``retention_days`` lets go (``services.retention``); after the reconcile, never
    beside a mail import, whose new message could share a file retention is deleting."""
    report = apply_retention(app, apply=True, actor="closeout:retention")
    if report.dropped:
        get_run_logger().info("retention: %s", report.counts())
    return report.counts()


# --- notifications -----------------------------------------------------------------------------------------


@task(name="send-notifications", cache_policy=NO_CACHE)
def send_notifications_task(app: App) -> int:
    """Announce new high-severity cases, then send every notification that is due; returns how many went out.

    A notification that fails is kept for a later run (``services.notify``): it never fails the run.
    """
    from closeout.notifiers import open_notifiers
    from services.notify import record_high_severity, send_due

    record_high_severity(app.store, app.config)
    with open_notifiers(app.config) as notifier_for:
        report = send_due(app.store, notifier_for)
    if report.retrying or report.failed:
        get_run_logger().warning("notifications: %d to retry, %d failed (closeout notify list)",
                                 len(report.retrying), len(report.failed))
    return len(report.sent)
