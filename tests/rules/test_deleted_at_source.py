"""A job deleted at its source: a deleted version the rules log as no invoice, or a case once it was invoiced."""

from __future__ import annotations

from datetime import UTC, datetime

from workorders.anomalies import AnomalyCode
from workorders.decisions import Outcome
from workorders.deletions import deleted_at_source
from workorders.rules import InvoicedVersion, RuleContext, RuleSettings, Verdict, evaluate
from workorders.work_order import WorkOrderStatus

AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def test_a_deleted_version_keeps_the_job_as_last_seen_and_notes_what_said_it_was_deleted(build):
    order = build.order(version=2)

    deleted = deleted_at_source(order, at=AT, system="Jobber", evidence="a webhook named job J-1")

    assert deleted.status is WorkOrderStatus.deleted and deleted.updated_at == AT
    assert deleted.line_items == order.line_items and deleted.customer == order.customer
    assert deleted.notes[-1].text == "Deleted in Jobber: a webhook named job J-1"
    assert deleted.notes[-1].source == "source_event" and deleted.notes[:-1] == order.notes


def test_deleting_a_job_already_deleted_changes_nothing(build):
    assert deleted_at_source(build.order(status=WorkOrderStatus.deleted), at=AT, system="Jobber", evidence="x") is None


def test_a_job_deleted_before_it_was_invoiced_ends_in_a_logged_no_invoice_decision_and_no_case(build):
    deleted = deleted_at_source(build.order(version=2), at=AT, system="Jobber", evidence="gone")

    evaluation = evaluate(deleted, RuleSettings(), run_id="r", context=RuleContext())

    assert evaluation.verdict is Verdict.no_invoice and evaluation.anomalies == ()
    assert [d.rule_id for d in evaluation.decisions if d.outcome is Outcome.no_invoice] == ["cancelled_no_invoice"]


def test_a_job_deleted_after_it_was_invoiced_opens_changed_after_invoiced(build):
    deleted = deleted_at_source(build.order(version=2), at=AT, system="Jobber", evidence="gone")
    invoiced = InvoicedVersion(version=1, ledger="quickbooks", doc_number="NW-1", status="pushed", amount="339.00",
                               ledger_id="77", payment_state="unpaid", ledger_balance="339.00")

    evaluation = evaluate(deleted.model_copy(update={"version": 2}), RuleSettings(), run_id="r",
                          context=RuleContext(invoiced=(invoiced,)))

    assert [a.code for a in evaluation.anomalies] == [AnomalyCode.changed_after_invoiced]
    assert "the job is deleted" in evaluation.blocking[0].evidence["not_compared"]
