"""Rules in the running application: decisions stored, drafts from the transformed order, explain and preview."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from services.explain import WorkOrderNotFoundError, explain_work_order
from services.preview import IN_SOURCE, PREPARED, preview_run
from closeout.settings import Settings
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind
from workorders.decisions import Outcome
from workorders.push import PushStatus
from workorders.rules import DEFAULT_RULES
from workorders.work_order import LineItem, LineKind

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))


def closeout(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "220", "NO_COLOR": "1"}
    return subprocess.run([CLOSEOUT, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def demo_app(workspace):
    with open_app(config_path=install_demo_config(Settings().resolved_home())) as app:
        yield app, app.config.company("northwind")


def pull_and_prepare(app, company) -> None:
    for source in company.sources:
        pull_source(app, company, source)
    while prepare_batch(app, run_id="test-run").evaluated:
        pass


def push_all(app, company) -> None:
    while (step := push_batch(app, company, limit=30)).pushed + step.rejected + step.uncertain:
        pass


def test_every_rule_decision_is_stored_and_the_duplicate_demo_job_opens_a_case_naming_the_rule(demo_app):
    app, company = demo_app
    pull_and_prepare(app, company)
    with app.store.unit_of_work() as uow:
        order = uow.work_orders.get("csv:J20486")
        decisions = uow.decisions.for_work_order(order.id, order.version)
        (case,) = uow.cases.list(work_order_id=order.id)
    assert [d.rule_id for d in decisions] == [r.id for r in DEFAULT_RULES if r.id != "photos_before_after"]
    assert {d.run_id for d in decisions} == {"test-run"}
    blocking = [d for d in decisions if d.outcome is Outcome.block]
    assert [d.rule_id for d in blocking] == ["duplicate_job"]
    assert blocking[0].evidence["look_alikes"][0]["work_order"] == "csv:J20485"
    assert case.kind is CaseKind.rule_blocked and "duplicate_job: looks like job 1025" in case.summary


def test_the_draft_bills_recorded_time_from_the_rate_card_and_totals_its_lines(demo_app):
    app, company = demo_app
    pull_and_prepare(app, company)
    with app.store.unit_of_work() as uow:
        (record,) = uow.push_records.for_work_order("csv:J20501")
        stored = uow.work_orders.get("csv:J20501")
    draft = record.draft
    labour = [line for line in draft.lines if line.kind == "labour"]
    assert [(line.quantity, line.unit_price, line.item_ref) for line in labour] == [
        (Decimal("1.25"), Decimal("125.00"), "1")]
    assert not [line for line in stored.line_items if line.kind is LineKind.labour]  # the stored version is untouched
    assert draft.total == sum(line.amount for line in draft.lines) == stored.subtotal + Decimal("156.25")


def test_explain_names_the_blocking_rule_and_its_evidence_for_a_blocked_demo_job(demo_app):
    app, company = demo_app
    pull_and_prepare(app, company)
    with app.store.unit_of_work() as uow:
        found = explain_work_order(uow, "1026")
        by_id = explain_work_order(uow, "csv:J20486")
        with pytest.raises(WorkOrderNotFoundError, match="no work order has the id or job number '9999'"):
            explain_work_order(uow, "9999")
    assert found.as_dict() == by_id.as_dict()
    assert found.ending().startswith("case #") and "rule_blocked" in found.ending()

    shown = closeout("explain", "1026")
    assert shown.returncode == 0, shown.stderr
    assert "duplicate_job v1" in shown.stdout and "block" in shown.stdout
    assert "looks like job 1025 (csv:J20485)" in shown.stdout and '"look_alikes"' in shown.stdout
    missing = closeout("explain", "no-such-job")
    assert missing.returncode == 2 and "no work order has the id or job number 'no-such-job'" in missing.stdout
    assert "Traceback" not in missing.stdout + missing.stderr


def test_explain_shows_the_draft_of_an_invoiced_job_and_the_transform_before_and_after(demo_app):
    app, company = demo_app
    pull_and_prepare(app, company)
    push_all(app, company)
    shown = closeout("explain", "1041")
    assert shown.returncode == 0, shown.stderr
    assert "labour_from_time_entries v1" in shown.stdout and "transform" in shown.stdout
    assert '"before"' in shown.stdout and '"after"' in shown.stdout
    assert "Draft NW-1041 for quickbooks" in shown.stdout and "pushed" in shown.stdout


def test_preview_before_any_run_shows_the_drafts_in_the_source_with_totals_and_stores_nothing(demo_app):
    app, company = demo_app
    preview = preview_run(app, company="northwind")
    assert len(preview.drafts) == 39 and {where for where, _ in preview.drafts} == {IN_SOURCE}
    ((key, (count, total)),) = preview.totals().items()
    assert key == ("northwind", "USD") and count == 39
    assert total == sum(draft.total for _, draft in preview.drafts)
    held = {item.subject.split(" ")[1]: item.why for item in preview.held if item.subject.startswith("job ")}
    assert held["1013"].startswith("blocked by approval_over_amount")
    assert held["1016"] == "no invoice: cancelled_no_invoice: job is cancelled"
    with app.store.unit_of_work() as uow:
        assert list(uow.work_orders.latest()) == [] and uow.push_records.all() == []
        assert uow.decisions.outcome_counts() == {outcome.value: 0 for outcome in Outcome}


def test_preview_after_prepare_shows_the_waiting_drafts_and_nothing_once_they_are_sent(demo_app):
    app, company = demo_app
    pull_and_prepare(app, company)
    waiting = preview_run(app, company="northwind")
    with app.store.unit_of_work() as uow:
        ready = uow.push_records.all(status=PushStatus.ready)
    northwind = [r for r in ready if r.company == "northwind"]
    assert {where for where, _ in waiting.drafts} == {PREPARED} and len(waiting.drafts) == len(northwind) == 39
    assert waiting.totals()[("northwind", "USD")][1] == sum(r.amount for r in northwind)
    push_all(app, company)
    assert preview_run(app, company="northwind").drafts == []

    shown = closeout("preview", "--company", "northwind")
    assert shown.returncode == 0, shown.stderr
    assert "No invoice would be sent" in shown.stdout
    unknown = closeout("preview", "--company", "nobody")
    assert unknown.returncode == 2 and "no company 'nobody'" in unknown.stdout


def test_a_job_changed_after_it_was_invoiced_opens_a_case_and_is_never_sent_again(demo_app):
    app, company = demo_app
    pull_and_prepare(app, company)
    push_all(app, company)
    with app.store.unit_of_work() as uow:
        invoiced = uow.work_orders.get("csv:J20461")
        extra = LineItem(source_id="J20461:9", kind=LineKind.fee, description="Second trip", quantity="1",
                         unit_price="89.00")
        uow.work_orders.save(invoiced.model_copy(update={"line_items": invoiced.line_items + (extra,)}))
        uow.commit()
    counts = prepare_batch(app, run_id="after-change")
    assert (counts.evaluated, counts.drafts, counts.cases_opened["changed_after_invoiced"]) == (1, 0, 1)
    with app.store.unit_of_work() as uow:
        records = uow.push_records.for_work_order("csv:J20461")
        (case,) = uow.cases.list(work_order_id="csv:J20461", kinds=[CaseKind.changed_after_invoiced])
    assert [(r.work_order_version, r.status) for r in records] == [(1, PushStatus.pushed)]
    assert case.evidence["decisions"][0]["evidence"]["doc_number"] == "NW-1001"
    assert case.suggested_actions == ("credit_and_reissue", "ignore_change")


def test_the_rules_command_lists_every_rule_with_why_it_exists_and_whether_each_company_runs_it(workspace):
    from closeout.settings import BUNDLED_DEMO_CONFIG

    shown = closeout("rules", "--config", str(BUNDLED_DEMO_CONFIG), "--company", "northwind")
    assert shown.returncode == 0, shown.stderr
    for item in DEFAULT_RULES:
        assert f"{item.id} v{item.version}" in shown.stdout
    assert "photos_before_after v2" in shown.stdout and "installation" in shown.stdout
