"""invoiced_elsewhere: jobs a company billed before Closeout are not billed again, and each says why."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from workorders.decisions import Outcome
from workorders.rules import Cutover, InvoicedVersion, RuleContext, RuleSettings, Verdict, evaluate

DEFAULTS = RuleSettings()
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)


def _judged(order, cutover: Cutover, **context):
    evaluation = evaluate(order, DEFAULTS, run_id="r", context=RuleContext(cutover=cutover, **context))
    return evaluation, next(d for d in evaluation.decisions if d.rule_id == "invoiced_elsewhere")


def test_a_job_completed_before_the_cutover_date_gets_no_invoice_and_the_decision_says_who_recorded_it(build):
    order = build.order(completed_at=datetime(2026, 10, 30, 15, tzinfo=UTC))
    evaluation, decision = _judged(order, Cutover(invoiced_before=NOV_1, recorded_by="grace"))
    assert evaluation.verdict is Verdict.no_invoice and evaluation.anomalies == ()
    assert decision.outcome is Outcome.no_invoice
    assert "before the cutover of 2026-11-01" in decision.reason
    assert decision.evidence["recorded_by"] == "grace"


def test_a_job_completed_on_the_cutover_day_or_after_is_billed_as_usual(build):
    evaluation, decision = _judged(build.order(completed_at=NOV_1), Cutover(invoiced_before=NOV_1))
    assert evaluation.verdict is Verdict.ready and decision.outcome is Outcome.passed


def test_a_listed_job_is_invoiced_elsewhere_whatever_its_date_by_id_or_by_job_number(build):
    for listed in ("J1", "1001"):
        evaluation, decision = _judged(build.order(), Cutover(jobs=frozenset({listed})))
        assert evaluation.verdict is Verdict.no_invoice and "cutover's list" in decision.reason


def test_a_job_last_changed_before_its_sources_start_is_history(build):
    old = datetime(2026, 10, 2, tzinfo=UTC)
    order = build.order(completed_at=old, updated_at=old)
    evaluation, decision = _judged(order, Cutover(source_starts={"csv": NOV_1}))
    assert evaluation.verdict is Verdict.no_invoice and "before csv's start of 2026-11-01" in decision.reason
    other_source = _judged(order, Cutover(source_starts={"jobber": NOV_1}))[0]
    assert other_source.verdict is Verdict.ready


def test_a_job_closeout_already_invoiced_is_left_to_not_invoiced_before(build):
    invoiced = InvoicedVersion(version=1, ledger="quickbooks", doc_number="1001", status="pushed",
                               amount=Decimal("214.00"))
    order = build.order(completed_at=datetime(2026, 10, 30, tzinfo=UTC))
    _, decision = _judged(order, Cutover(invoiced_before=NOV_1), invoiced=(invoiced,))
    assert decision.outcome is Outcome.passed and "Closeout invoiced" in decision.reason


def test_without_a_cutover_the_rule_passes_saying_none_was_recorded(build):
    _, decision = _judged(build.order(), Cutover())
    assert decision.outcome is Outcome.passed and decision.reason == "no cutover recorded for the company"
