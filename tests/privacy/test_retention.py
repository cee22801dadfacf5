"""Retention drops old raw payloads, mail and attachments that finished work orders no longer need, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from services.audit import run_audit
from services.retention import RETENTION_APPLIED, apply_retention
from storage.tables import (
    audit_events, case_history, cases, mail_attachments, mail_matches, mail_messages, push_evidence, push_records,
    raw_payloads, rule_decisions, work_order_versions,
)

KEPT_FOREVER = (work_order_versions, rule_decisions, push_records, push_evidence, cases, case_history, mail_messages,
                mail_attachments, mail_matches)
A_YEAR_AND_MORE = datetime.now(UTC) + timedelta(days=400)


def kept_files(workspace) -> set[str]:
    return {str(path.relative_to(workspace.home)) for folder in ("mail", "attachments")
            for path in (workspace.home / folder).rglob("*") if path.is_file()}


def message_file(workspace, subject: str) -> str:
    m = mail_messages.c
    (content_hash,) = workspace.query(sa.select(m.content_hash).where(m.subject == subject))[0]
    return f"mail/raw/{content_hash}.eml"


def payload_jobs(workspace) -> list[tuple[str, int]]:
    return sorted((row.external_id, row.revision) for row in workspace.query(sa.select(raw_payloads)))


def test_without_retention_days_everything_is_kept_however_old(workspace):
    before = payload_jobs(workspace), kept_files(workspace)

    with workspace.app() as app:
        report = apply_retention(app, now=A_YEAR_AND_MORE)

    assert report.days == {"acme": None} and report.dropped == 0
    assert (payload_jobs(workspace), kept_files(workspace)) == before


def test_retention_drops_old_payloads_mail_and_attachments_of_finished_orders_and_keeps_the_rest(workspace):
    workspace.set_retention(everywhere=365)
    kept_before = {table.name: workspace.rows(table) for table in KEPT_FOREVER}
    files_before = kept_files(workspace)

    with workspace.app() as app:
        report = apply_retention(app, now=A_YEAR_AND_MORE, actor="ops")
        audit = run_audit(app)

    # 5001, 5003, 5004 (cancelled), 5005 are finished; 5002 waits for a sign-off: its latest payload stays,
    # the revision its second CSV file superseded goes.
    assert payload_jobs(workspace) == [("J5002", 2), ("J5006", 1)]  # 5006 never mapped: its case holds it
    assert (report.payloads_of_finished, report.payloads_superseded, report.payloads_kept_unfinished) == (4, 1, 1)
    gone = files_before - kept_files(workspace)
    assert gone == {message_file(workspace, "Job #5001 photo"), message_file(workspace, "Job #5005 notes"),
                    *(f for f in files_before if f.startswith("attachments/"))}
    assert (report.raw_messages, report.attachments) == (2, 2)
    # the message about job 5002 and the unplaced question (its case is open) keep their raw copies
    assert {message_file(workspace, "Job #5002 notes"), message_file(workspace, "A question about my bill")} \
        <= kept_files(workspace)
    assert report.messages_kept_unplaced == 3  # and the technician's to Ana, whose case is open too
    assert {table.name: workspace.rows(table) for table in KEPT_FOREVER} == kept_before
    assert audit.ok, audit.failures
    (entry,) = workspace.query(sa.select(audit_events).where(audit_events.c.action == RETENTION_APPLIED))
    assert entry.actor == "ops" and entry.after["payloads_of_finished"] == 4 and entry.after["days"] == {"acme": 365}


def test_retention_keeps_what_is_younger_than_its_days(workspace):
    workspace.set_retention(everywhere=365)
    before = payload_jobs(workspace), kept_files(workspace)

    with workspace.app() as app:
        report = apply_retention(app, now=datetime.now(UTC) + timedelta(days=300))

    assert report.dropped == 0
    assert (payload_jobs(workspace), kept_files(workspace)) == before
    assert workspace.query(sa.select(audit_events).where(audit_events.c.action == RETENTION_APPLIED)) == []


def test_a_companys_own_retention_days_wins_over_the_top_level_one(workspace):
    workspace.set_retention(everywhere=1000, company=365)

    with workspace.app() as app:
        report = apply_retention(app, apply=False, now=A_YEAR_AND_MORE)

    assert report.days == {"acme": 365}
    assert report.payloads_of_finished == 4


def test_a_file_closed_cases_no_longer_need_goes_once_the_case_is_decided(workspace):
    workspace.set_retention(everywhere=365)
    question = message_file(workspace, "A question about my bill")
    (case_id,) = workspace.query(sa.select(cases.c.id).where(cases.c.kind == "unmatched_email"))[0]
    workspace.ignore_case(case_id)

    with workspace.app() as app:
        apply_retention(app, now=A_YEAR_AND_MORE)

    assert question not in kept_files(workspace)
    assert workspace.query(sa.select(sa.func.count()).select_from(mail_messages))[0][0] == 5  # the rows stay


def test_the_retention_command_only_counts_unless_told_to_apply_and_the_audit_passes_after(workspace):
    workspace.set_retention(everywhere=365)
    workspace.age(days=400)
    before = payload_jobs(workspace), kept_files(workspace)

    counted = workspace.closeout("retention")

    assert counted.returncode == 0, counted.stdout + counted.stderr
    assert "acme: 365 days" in counted.stdout and "would drop 4 raw payload(s)" in counted.stdout
    assert "--apply" in counted.stdout
    assert (payload_jobs(workspace), kept_files(workspace)) == before

    applied = workspace.closeout("retention", "--apply")

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "dropped 4 raw payload(s) of finished work orders, 1 superseded" in applied.stdout
    assert payload_jobs(workspace) == [("J5002", 2), ("J5006", 1)]  # 5006 never mapped: its case holds it
    audited = workspace.closeout("audit")
    assert audited.returncode == 0, audited.stdout + audited.stderr
