"""The ingest-mail flow and the demo's mailbox under Prefect's test harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseStatus
from flows.operations import ingest_mailboxes
from flows.pipeline import closeout_pipeline
from workorders.anomalies import AnomalyCode

DEMO_MAIL = Path(__file__).parents[2] / "closeout" / "demo" / "mail" / "northwind"

pytestmark = pytest.mark.e2e


def test_the_ingest_mail_flow_reads_every_mailbox_and_queues_what_matches_no_job(prefect_api, workspace):
    workspace.mkdir(parents=True)
    config = workspace / "closeout.toml"
    config.write_text(f'''
[[companies]]
id = "acme"
name = "Acme"
[companies.ledger]
api_url = "https://quickbooks.api.intuit.com"
realm_id = "1"
[[companies.mailboxes]]
kind = "maildir"
name = "field"
path = "{DEMO_MAIL}"
''')
    counts = ingest_mailboxes(config_path=str(config))
    again = ingest_mailboxes(config_path=str(config))
    assert (counts.fetched, counts.unmatched, counts.matched) == (8, 8, 0)  # no jobs at all: everything is queued
    assert (again.fetched, again.duplicates, again.cases_opened.total()) == (8, 8, 0)


def test_the_demo_attaches_notes_and_photos_unblocks_a_sign_off_and_queues_a_stranger(prefect_api, workspace):
    config = install_demo_config(Settings().resolved_home())
    closeout_pipeline(config_path=str(config))
    with open_app(config_path=config) as app, app.store.unit_of_work() as uow:
        messages = {m.message_id: m for m in uow.messages.list(company="northwind")}
        first = uow.work_orders.get("csv:J20461")
        signed = uow.work_orders.get("csv:J20463")
        pushed = {r.doc_number for r in uow.push_records.for_work_order("csv:J20463")}
        queued = uow.cases.list(kinds=(AnomalyCode.unmatched_email,), statuses=(CaseStatus.open,))
    assert {a.file_name for a in first.attachments} >= {"before-filters.jpg", "after-filters.jpg"}
    assert any(note.source == "mail:<demo-0001@mail.northwind.example>" for note in first.notes)
    assert messages["<demo-0002@mail.northwind.example>"].method == "thread"
    assert signed.approvals[-1].kind == "sign_off" and pushed == {"NW-1003"}
    assert "<demo-0006@mail.northwind.example>" in {case.evidence["message_id"] for case in queued}
