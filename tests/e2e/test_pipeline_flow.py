"""The closeout-pipeline flow end to end on the demo company, under Prefect's test harness."""

from __future__ import annotations

import json

import pytest

from services.audit import run_audit
from services.reconcile import reconcile
from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind
from flows.pipeline import closeout_pipeline
from workorders.push import PushStatus

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo_config(workspace):
    return install_demo_config(Settings().resolved_home())


def test_the_demo_pipeline_invoices_ready_jobs_queues_the_rest_and_accounts_for_every_job(prefect_api, demo_config):
    counts = closeout_pipeline(config_path=str(demo_config))

    assert counts.pulled >= 50
    assert counts.pushed > 0 and counts.pushed == counts.drafts
    assert counts.rejected == 0 and counts.uncertain == 0
    assert {"rule_blocked", "missing_mapping", "source_payload_invalid"} <= set(counts.cases_opened)
    with open_app(config_path=demo_config) as app:
        report = run_audit(app)
        with app.store.unit_of_work() as uow:
            pushed = uow.push_records.all(status=PushStatus.pushed)
            kinds = {case.kind for case in uow.cases.list()}
            invalid = uow.cases.list(kinds=[CaseKind.source_payload_invalid])
            taxed = uow.cases.list(kinds=[CaseKind.tax_mismatch])
        reconciled = reconcile(app)
    assert report.ok, report.as_dict()
    assert report.every_job_accounted_for
    assert report.jobs_seen == counts.pulled
    assert report.ledger_invoices_found == len(pushed) == counts.pushed
    assert report.duplicates_in_ledger == []
    assert report.accounted["no_invoice"] > 0 and report.accounted["case"] > 0
    assert CaseKind.missing_mapping in kinds
    assert any("row" in case.summary and "column" in case.summary for case in invalid)
    # both ledgers computed tax (Minnesota sales tax at each site; GST inside Harbour's prices), the books agree
    # with the records, and the one job whose system charged another tax is the one tax_mismatch case
    sums = {entry.currency: entry for entry in counts.by_currency()}
    assert set(sums) == {"USD", "NZD"} and all(e.tax > 0 and e.total == e.subtotal + e.tax for e in sums.values())
    assert [case.subject for case in taxed] == ["csv:J20464@v1:quickbooks:tax"]
    assert taxed[0].evidence["source_tax"] != taxed[0].evidence["ledger_tax"]
    assert reconciled.ok, reconciled.as_dict()


def test_a_second_run_sends_no_new_invoice_and_the_ledger_count_stays_the_same(prefect_api, demo_config):
    first = closeout_pipeline(config_path=str(demo_config))
    second = closeout_pipeline(config_path=str(demo_config))

    assert first.pushed > 0
    assert second.pushed == 0 and second.drafts == 0
    with open_app(config_path=demo_config) as app:
        report = run_audit(app)
    assert report.ok
    assert report.ledger_invoices_found == first.pushed


def test_each_run_publishes_its_summary_and_the_open_cases_as_table_artifacts(prefect_api, demo_config):
    from prefect.artifacts import Artifact

    counts = closeout_pipeline(config_path=str(demo_config))

    artifact = Artifact.get("closeout-run-summary")
    assert artifact is not None
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert {"measure": "invoices pushed", "value": str(counts.pushed)} in rows
    assert {"measure": "jobs pulled", "value": str(counts.pulled)} in rows
    queue = Artifact.get("closeout-open-cases")
    assert queue is not None and "missing_mapping" in str(queue.data)
