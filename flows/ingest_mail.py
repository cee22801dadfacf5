"""The ingest-mail flow: read every configured mailbox, attach messages to work orders, publish a summary."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from closeout.config import CompanyConfig
from closeout.mailbox_config import MailboxConfig
from closeout.run_report import track_mail
from closeout.steps.mail import MailCounts, check_mailbox_health, ingest_mailbox
from closeout.wiring import App, open_app
from flows.retrying import is_retriable



def emit_mail_event(event: str, payload: dict) -> None:
    """A Prefect event an automation can alert on; the resource is the mailbox."""
    emit_event(event=event, resource={"prefect.resource.id": f"closeout.mailbox.{payload['company']}.{payload['mailbox']}"},
               payload=payload)


@task(name="ingest-mailbox", task_run_name="mail {company.id} {mailbox.name}", retries=2,
      retry_delay_seconds=[2, 10], retry_condition_fn=is_retriable, cache_policy=NO_CACHE)
def ingest_mailbox_task(app: App, company: CompanyConfig, mailbox: MailboxConfig) -> MailCounts:
    """One mailbox, batch by batch (each batch one transaction with its cursor)."""
    return ingest_mailbox(app, company, mailbox, emit=emit_mail_event)


@task(name="check-mailbox-health", task_run_name="health {company.id} {mailbox.name}", cache_policy=NO_CACHE)
def check_mailbox_health_task(app: App, company: CompanyConfig, mailbox: MailboxConfig) -> bool:
    return check_mailbox_health(app, company, mailbox, emit=emit_mail_event)


def ingest_company_mail(app: App, company: CompanyConfig) -> MailCounts:
    """Every mailbox of one company; a mailbox that fails does not stop the others (or the pipeline): its
    failure is recorded, its health checked (a case and an event when it stalls) and the run goes on."""
    counts = MailCounts()
    for mailbox in company.mailboxes:
        state = ingest_mailbox_task(app, company, mailbox, return_state=True)
        if state.is_completed():
            counts += state.result()
        else:
            get_run_logger().error("mailbox %s/%s failed: %s", company.id, mailbox.name, state.message)
        check_mailbox_health_task(app, company, mailbox)
        track_mail(company, mailbox)  # the run's mail progress artifact moves
    return counts


def run_mail_ingest(app: App) -> MailCounts:
    counts = MailCounts()
    for company in app.companies():
        counts += ingest_company_mail(app, company)
    create_table_artifact(key="closeout-mail-summary", table=counts.as_rows(), description="What this mail run did")
    return counts


@flow(name="ingest-mail", log_prints=True)
def ingest_mail(config_path: str | None = None) -> MailCounts:
    """Read the mailboxes in the config and attach what they hold to work orders; the rest goes to the queue."""
    with open_app(config_path=Path(config_path) if config_path else None) as app:
        return run_mail_ingest(app)
