"""Notifications name people (a customer asked for a sign-off, case summaries): retention clears old ones' words
and erasure takes the customer out of them, while each row (its key, status and times) and the audit stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from services.audit import run_audit
from services.customer_requests import request_from_customer
from services.erasure import CUSTOMER_ERASED, describe_erasure, erase_customer, erasure_digest
from services.retention import RETENTION_APPLIED, apply_retention, describe_retention
from storage.tables import audit_events, cases, notifications
from privacy_workspace import ANA, ANA_EMAIL

ANA_TEXT = (ANA, ANA_EMAIL, "2 Harbour Road")
A_YEAR_AND_MORE = datetime.now(UTC) + timedelta(days=400)


def ask_ana_to_sign(workspace) -> str:
    """A coordinator asks Ana, by e-mail, for the sign-off job 5002 misses; the notice's key."""
    (case_id,) = workspace.query(sa.select(cases.c.id).where(
        (cases.c.kind == "rule_blocked") & (cases.c.work_order_id == "csv:J5002")))[0]
    with workspace.app() as app:
        request_from_customer(app, case_id, "request_sign_off", actor="coordinator")
    (key,) = workspace.query(sa.select(notifications.c.key))[0]
    return key


def settle(workspace, key: str, *, sent: bool) -> None:
    """What the sender records after its attempt: sent, or failed for good (no retry)."""
    with workspace.app() as app, app.store.unit_of_work() as uow:
        if sent:
            uow.notifications.mark_sent(key)
        else:
            uow.notifications.mark_failed(key, error=f"550 5.1.1 <{ANA_EMAIL}>: no such user", retry_at=None)
        uow.commit()


def notice_row(workspace, key: str):
    n = notifications.c
    (row,) = workspace.query(sa.select(n.key, n.kind, n.status, n.recipient, n.subject, n.body, n.last_error,
                                       n.sent_at).where(n.key == key))
    return row


def test_retention_clears_the_words_of_a_sent_notification_once_older_than_its_days_and_keeps_its_row(workspace):
    workspace.set_retention(everywhere=365)
    workspace.send_notices()
    key = ask_ana_to_sign(workspace)
    settle(workspace, key, sent=True)
    before = notice_row(workspace, key)

    with workspace.app() as app:
        young = apply_retention(app, now=datetime.now(UTC) + timedelta(days=300))
        assert notice_row(workspace, key) == before and young.notifications == 0
        report = apply_retention(app, now=A_YEAR_AND_MORE, actor="ops")
        audit = run_audit(app)

    after = notice_row(workspace, key)
    assert (after.recipient, after.subject, after.body, after.last_error) == ("", "", "", "")
    assert (after.key, after.kind, after.status, after.sent_at) == (before.key, before.kind, "sent", before.sent_at)
    assert workspace.mentions(*ANA_TEXT, skip=("audit_events", "case_history")).get("notifications") is None
    assert report.notifications == 1 and audit.ok, audit.failures
    (entry,) = workspace.query(sa.select(audit_events).where(audit_events.c.action == RETENTION_APPLIED))
    assert entry.after["notifications"] == 1


def test_retention_clears_a_notification_that_failed_for_good_and_keeps_one_still_to_be_sent(workspace):
    workspace.set_retention(everywhere=365)
    workspace.send_notices()
    key = ask_ana_to_sign(workspace)

    with workspace.app() as app:
        pending = apply_retention(app, now=A_YEAR_AND_MORE)
    assert pending.notifications == 0 and ANA_EMAIL in notice_row(workspace, key).recipient

    settle(workspace, key, sent=False)
    with workspace.app() as app:
        failed = apply_retention(app, now=A_YEAR_AND_MORE)

    after = notice_row(workspace, key)
    assert failed.notifications == 1 and after.status == "failed"
    assert (after.recipient, after.subject, after.body, after.last_error) == ("", "", "", "")


def test_retention_without_apply_counts_the_notifications_it_would_clear_and_clears_none(workspace):
    workspace.set_retention(everywhere=365)
    workspace.send_notices()
    key = ask_ana_to_sign(workspace)
    settle(workspace, key, sent=True)

    with workspace.app() as app:
        counted = apply_retention(app, apply=False, now=A_YEAR_AND_MORE)

    assert counted.notifications == 1
    assert "and the text of 1 notification(s) sent or failed for good" in describe_retention(counted)
    assert ANA_EMAIL in notice_row(workspace, key).recipient


def test_erasing_a_customer_takes_them_out_of_the_requests_sent_to_them_and_audits_it(workspace):
    workspace.send_notices()
    key = ask_ana_to_sign(workspace)
    settle(workspace, key, sent=True)
    for (case_id,) in workspace.query(sa.select(cases.c.id).where(cases.c.status == "open")):
        workspace.ignore_case(case_id)  # both of Ana's open cases decided: nothing about her waits
    before = notice_row(workspace, key)

    with workspace.app() as app:
        report = erase_customer(app, ANA_EMAIL, apply=True, actor="dpo")
        audit = run_audit(app)

    after = notice_row(workspace, key)
    placeholder = f"erased customer {erasure_digest(ANA_EMAIL)}"
    assert workspace.mentions(*ANA_TEXT, skip=("audit_events", "case_history")) == {}
    assert after.recipient == placeholder and placeholder in after.body and "Job #5002" in after.subject
    assert (after.key, after.status, after.sent_at) == (before.key, "sent", before.sent_at)
    assert report.notifications == 1 and report.kept_notifications == 0 and audit.ok, audit.failures
    (entry,) = workspace.query(sa.select(audit_events).where(audit_events.c.action == CUSTOMER_ERASED))
    assert entry.actor == "dpo" and entry.after["notifications"] == 1
    assert not any(text.lower() in str(tuple(entry)).lower() for text in ANA_TEXT)


def test_erasure_keeps_a_request_about_a_case_still_open_and_counts_it_as_kept(workspace):
    workspace.send_notices()
    key = ask_ana_to_sign(workspace)
    settle(workspace, key, sent=True)

    with workspace.app() as app:
        report = erase_customer(app, ANA_EMAIL, apply=True)

    assert report.notifications == 0 and report.kept_notifications == 1
    assert notice_row(workspace, key).recipient == ANA_EMAIL
    assert "1 notification(s) still to be sent or about those" in describe_erasure(report)
