"""Mailbox health: every failed poll recorded, and a ``mailbox_stalled`` case (and event) when reading stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.config import CompanyConfig
from services.mailbox_config import MailboxConfig
from services.runtime import Emit, Runtime
from connectors.errors import AuthError, ConnectorError
from services.outages import record_outage
from exceptions_queue.service import CaseQueue
from workorders.anomalies import Anomaly, AnomalyCode


def mailbox_resource(company: CompanyConfig, mailbox: MailboxConfig) -> dict[str, str]:
    """The Prefect resource a mailbox's events are about (the stalled-mailbox automation matches on it)."""
    return {"prefect.resource.id": f"closeout.mailbox.{company.id}.{mailbox.name}"}


def mailbox_subject(company: CompanyConfig, mailbox: MailboxConfig) -> str:
    return f"mailbox:{company.id}/{mailbox.name}"


def record_failure(app: Runtime, company: CompanyConfig, mailbox: MailboxConfig, exc: ConnectorError,
                    emit: Emit | None) -> None:
    """Record the failed poll and check the mailbox's health. An OAuth2 mailbox whose token (or its renewal) was
    refused also gets a ``connection_failed`` case, as a ledger or source that refuses us does: no retry mends
    it, `closeout connect mailbox` does (the health check closes the case once the mailbox is read again)."""
    outcome = "auth_failed" if isinstance(exc, AuthError) else "failed"
    with app.store.unit_of_work() as uow:
        uow.messages.record_poll(company=company.id, mailbox=mailbox.name, outcome=outcome, detail=str(exc)[:500])
        uow.commit()
    if isinstance(exc, AuthError) and mailbox.auth == "oauth2":
        record_outage(app, company, "mailbox", mailbox.name, exc)
    check_mailbox_health(app, company, mailbox, emit=emit, failure=exc)


def check_mailbox_health(app: Runtime, company: CompanyConfig, mailbox: MailboxConfig, *, emit: Emit | None = None,
                         failure: ConnectorError | None = None, now: datetime | None = None) -> bool:
    """Open a ``mailbox_stalled`` case (and emit an event) when the login fails or no read succeeded for too long.

    A mailbox never read successfully counts from its first poll. Returns True when the mailbox is healthy.
    """
    now = now or datetime.now(UTC)
    subject = mailbox_subject(company, mailbox)
    with app.store.unit_of_work() as uow:
        last_ok = uow.messages.last_poll(company=company.id, mailbox=mailbox.name, outcome="ok")
        since = last_ok or uow.messages.first_poll(company=company.id, mailbox=mailbox.name)
        overdue = since is not None and now - since > timedelta(minutes=mailbox.stall_after_minutes)
        if not isinstance(failure, AuthError) and not overdue:
            return True
        why = ("the login was refused" if isinstance(failure, AuthError)
               else f"no successful read since {since.isoformat() if since else 'never'}")
        anomaly = Anomaly(
            code=AnomalyCode.mailbox_stalled, subject=subject, company=company.id,
            summary=f"Mailbox {mailbox.name} is not being read: {why}.",
            evidence={"mailbox": mailbox.name, "kind": mailbox.kind, "last_success": last_ok.isoformat() if last_ok
                      else None, "last_error": str(failure) if failure else "",
                      "stall_after_minutes": mailbox.stall_after_minutes},
            suggested_actions=("fix_credentials", "check_server", "ignore"),
        )
        CaseQueue(uow.cases).open_case(anomaly)
        uow.commit()
    if emit is not None:
        emit(event="closeout.mailbox.stalled", resource=mailbox_resource(company, mailbox),
             payload={"company": company.id, "mailbox": mailbox.name, "why": why})
    return False
