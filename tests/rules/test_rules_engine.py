import re
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from workorders.anomalies import AnomalyCode
from workorders.decisions import Outcome
from workorders.rules import DEFAULT_RULES, Check, RuleSettings, Verdict, evaluate, passed, rule
from workorders.work_order import JobType, WorkOrderStatus

DEFAULTS = RuleSettings()


def test_every_rule_records_a_decision_stamped_with_rule_order_and_run(build):
    order = build.order()
    evaluation = evaluate(order, DEFAULTS, run_id="run-7")
    assert [d.rule_id for d in evaluation.decisions] == [r.id for r in DEFAULT_RULES if r.id != "photos_before_after"]
    for decision, item in zip(evaluation.decisions, [r for r in DEFAULT_RULES if r.id != "photos_before_after"]):
        assert (decision.rule_version, decision.work_order_id, decision.work_order_version, decision.run_id) == (
            item.version, "csv:J1", 3, "run-7"
        )
    assert all(d.outcome is Outcome.passed for d in evaluation.decisions)
    assert "photos_before_after" not in [d.rule_id for d in evaluation.decisions]  # installations only


def test_a_clean_completed_job_is_ready_with_no_anomalies(build):
    evaluation = evaluate(build.order(), DEFAULTS, run_id="r")
    assert (evaluation.verdict, evaluation.anomalies, evaluation.blocking) == (Verdict.ready, (), ())


def test_a_blocked_job_yields_one_anomaly_naming_every_blocking_rule(build):
    order = build.order(approvals=(), line_items=(build.line("part", None, description="Capacitor", item_code="C"),))
    evaluation = evaluate(order, DEFAULTS, run_id="r")
    assert evaluation.verdict is Verdict.blocked
    (anomaly,) = evaluation.anomalies
    assert anomaly.code is AnomalyCode.rule_blocked
    assert (anomaly.subject, anomaly.company, anomaly.work_order_id, anomaly.work_order_version) == (
        "csv:J1@v3", "northwind", "csv:J1", 3
    )
    assert anomaly.summary.startswith("Job 1001 (Maple Street Bakery) is blocked by sign_off_required: ")
    assert "; line_items_priced: 1 line(s) without a price: 'Capacitor' (C)" in anomaly.summary
    assert [d["rule_id"] for d in anomaly.evidence["decisions"]] == ["sign_off_required", "line_items_priced"]
    assert {"approve_override", "fix_at_source", "request_sign_off"} <= set(anomaly.suggested_actions)


def test_no_invoice_wins_over_a_block_and_opens_no_case(build):
    order = build.order(status=WorkOrderStatus.cancelled, line_items=(build.line("part", None),))
    evaluation = evaluate(order, DEFAULTS, run_id="r")
    assert evaluation.verdict is Verdict.no_invoice and evaluation.anomalies == ()
    assert {d.rule_id: d.outcome for d in evaluation.decisions}["line_items_priced"] is Outcome.block


def test_a_scheduled_job_is_recorded_as_not_invoiced_yet(build):
    order = build.order(status=WorkOrderStatus.scheduled, completed_at=None, line_items=())
    evaluation = evaluate(order, DEFAULTS, run_id="r")
    assert evaluation.verdict is Verdict.no_invoice
    reasons = [d.reason for d in evaluation.decisions if d.outcome is Outcome.no_invoice]
    assert reasons == ["not completed yet (status scheduled)"]


def test_a_disabled_rule_is_not_evaluated_and_is_named_as_skipped(build):
    settings = RuleSettings(disabled={"sign_off_required"})
    evaluation = evaluate(build.order(approvals=()), settings, run_id="r")
    assert evaluation.verdict is Verdict.ready
    assert evaluation.skipped == ("sign_off_required",)
    assert "sign_off_required" not in [d.rule_id for d in evaluation.decisions]


def test_a_rule_limited_to_job_types_decides_only_for_those(build):
    @rule("installations_need_photos", job_types=(JobType.installation,))
    def check_photos(order, settings):
        """Installers photograph their work; an installation without photos invites a dispute."""
        return passed("photos present")

    corrective = evaluate(build.order(), DEFAULTS, run_id="r", rules=(check_photos,))
    installation = evaluate(build.order(job_type=JobType.installation), DEFAULTS, run_id="r", rules=(check_photos,))
    assert (corrective.decisions, len(installation.decisions)) == ((), 1)


def test_a_rule_that_raises_blocks_the_job_with_the_error_and_the_other_rules_still_decide(build):
    @rule("fragile")
    def check_fragile(order, settings):
        """Exists to fail."""
        raise ZeroDivisionError("division by zero")

    evaluation = evaluate(build.order(), DEFAULTS, run_id="r", rules=(check_fragile, *DEFAULT_RULES))
    assert evaluation.verdict is Verdict.blocked
    first = evaluation.decisions[0]
    assert (first.rule_id, first.outcome) == ("fragile", Outcome.block)
    assert first.reason == "rule fragile failed: ZeroDivisionError: division by zero"
    assert len(evaluation.decisions) == len(DEFAULT_RULES)  # fragile, and every default rule but photos


def test_a_rule_that_returns_something_other_than_a_check_blocks_the_job(build):
    @rule("sloppy")
    def check_sloppy(order, settings):
        """Exists to return the wrong thing."""
        return "pass"

    @rule("half_formed")
    def check_half_formed(order, settings):
        """Exists to return a Check with the wrong field types."""
        return Check(outcome="pass", reason=None)

    evaluation = evaluate(build.order(), DEFAULTS, run_id="r", rules=(check_sloppy, check_half_formed))
    assert [d.outcome for d in evaluation.decisions] == [Outcome.block, Outcome.block]
    assert evaluation.decisions[0].reason.startswith("rule sloppy returned a malformed result")


def test_evidence_is_kept_as_json_and_evidence_that_cannot_be_is_a_block(build):
    @rule("decimal_evidence")
    def check_decimal(order, settings):
        """Exists to give a Decimal as evidence."""
        return passed("fine", subtotal=order.subtotal)

    @rule("circular_evidence")
    def check_circular(order, settings):
        """Exists to give evidence that cannot be written as JSON."""
        loop: list = []
        loop.append(loop)
        return passed("fine", loop=loop)

    evaluation = evaluate(build.order(), DEFAULTS, run_id="r", rules=(check_decimal, check_circular))
    assert evaluation.decisions[0].evidence == {"subtotal": "214.00"}
    assert evaluation.decisions[1].outcome is Outcome.block
    assert "not JSON" in evaluation.decisions[1].reason


def test_evaluating_twice_gives_the_same_evaluation(build):
    order = build.order(approvals=())
    at = datetime(2026, 11, 4, tzinfo=UTC)
    assert evaluate(order, DEFAULTS, run_id="r", decided_at=at) == evaluate(order, DEFAULTS, run_id="r", decided_at=at)
    assert evaluate(order, DEFAULTS, run_id="r", decided_at=at).decisions[0].decided_at == at


def test_every_built_in_rule_has_a_unique_snake_case_id_and_says_why_it_exists():
    ids = [item.id for item in DEFAULT_RULES]
    assert len(set(ids)) == len(ids) == 19
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids)
    assert all(item.why and item.version >= 1 and item.check.__doc__ for item in DEFAULT_RULES)


def test_a_rule_without_a_docstring_is_refused_when_it_is_declared():
    with pytest.raises(TypeError, match="needs a docstring"):
        rule("unexplained")(lambda order, settings: passed("ok"))


def test_rule_settings_refuse_a_float_threshold_and_unknown_keys():
    assert RuleSettings(approval_threshold="7500.00").approval_threshold == 7500
    with pytest.raises(ValidationError):
        RuleSettings(approval_threshold=7500.0)
    with pytest.raises(ValidationError):
        RuleSettings(require_signoff=False)


def test_a_transform_is_recorded_and_the_later_rules_see_the_transformed_order(build):
    from workorders.rules import transformed

    @rule("add_fee")
    def check_add_fee(order, settings):
        """Exists to add a line."""
        fee = build.line("fee", "1000.00", source_id="J1:fee")
        return transformed("added a fee", order.model_copy(update={"line_items": order.line_items + (fee,)}),
                           before={"lines": len(order.line_items)}, after={"lines": len(order.line_items) + 1})

    evaluation = evaluate(build.order(), RuleSettings(approval_threshold="1000"), run_id="r",
                          rules=(check_add_fee, *DEFAULT_RULES))
    first = evaluation.decisions[0]
    assert (first.outcome, first.evidence) == (Outcome.transform, {"before": {"lines": 2}, "after": {"lines": 3}})
    assert evaluation.order.subtotal == 1214 and evaluation.verdict is Verdict.blocked
    assert [d.rule_id for d in evaluation.blocking] == ["approval_over_amount"]


def test_a_transform_into_another_job_is_refused(build):
    from workorders.rules import transformed

    @rule("identity_thief")
    def check_thief(order, settings):
        """Exists to swap the job."""
        return transformed("swapped", order.model_copy(update={"external_id": "J2"}))

    evaluation = evaluate(build.order(), DEFAULTS, run_id="r", rules=(check_thief,))
    assert evaluation.decisions[0].outcome is Outcome.block and evaluation.order == build.order()


def test_an_invoiced_job_that_changed_opens_a_changed_after_invoiced_case_even_when_cancelled(build):
    from workorders.rules import InvoicedVersion, RuleContext

    context = RuleContext(invoiced=(InvoicedVersion(version=2, ledger="quickbooks", doc_number="NW-1001",
                                                    status="pushed", amount="214.00"),))
    evaluation = evaluate(build.order(status=WorkOrderStatus.cancelled), DEFAULTS, run_id="r", context=context)
    assert evaluation.verdict is Verdict.blocked
    (anomaly,) = evaluation.anomalies
    assert anomaly.code is AnomalyCode.changed_after_invoiced
    assert anomaly.summary.startswith("Job 1001 (Maple Street Bakery) changed after version 2 was invoiced")
    assert anomaly.suggested_actions == ("credit_and_reissue", "ignore_change")


def test_a_job_changed_after_invoicing_opens_only_that_case_and_its_other_blocks_stay_on_record(build):
    from workorders.rules import InvoicedVersion, RuleContext

    context = RuleContext(invoiced=(InvoicedVersion(version=1, ledger="quickbooks", doc_number="NW-1001",
                                                    status="pushed", amount="1"),))
    evaluation = evaluate(build.order(approvals=()), DEFAULTS, run_id="r", context=context)
    assert [a.code for a in evaluation.anomalies] == [AnomalyCode.changed_after_invoiced]
    assert [d.rule_id for d in evaluation.blocking] == ["not_invoiced_before", "sign_off_required"]


def test_a_rule_disabled_in_its_own_table_is_skipped_and_job_types_can_be_narrowed(build):
    settings = RuleSettings(job_note_present={"enabled": False}, sign_off_required={"job_types": ["installation"]})
    evaluation = evaluate(build.order(notes=(), approvals=()), settings, run_id="r")
    assert evaluation.verdict is Verdict.ready and evaluation.skipped == ("job_note_present",)
    assert "sign_off_required" not in [d.rule_id for d in evaluation.decisions]


def test_warnings_are_recorded_but_do_not_block(build):
    from decimal import Decimal

    cheap = build.line("part", "1.00", unit_cost=Decimal("5.00"), item_code="X", source_id="J1:2")
    evaluation = evaluate(build.order(line_items=(build.line("labour", "125.00", source_id="J1:1"), cheap)),
                          DEFAULTS, run_id="r")
    assert evaluation.verdict is Verdict.ready
    assert {d.rule_id: d.outcome for d in evaluation.decisions}["part_below_cost"] is Outcome.warn


def test_every_built_in_rule_has_its_own_settings_table():
    from workorders.rules import rule_ids

    assert set(rule_ids()) == {item.id for item in DEFAULT_RULES}


@pytest.mark.parametrize("text", ['=HYPERLINK("http://e.vil","Pay")', "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3+cmd",
                                  "\tpadded"])
def test_a_line_description_a_spreadsheet_would_run_as_a_formula_blocks_the_invoice_naming_it(build, text):
    order = build.order()
    order = order.model_copy(update={"line_items": (order.line_items[0].model_copy(update={"description": text}),
                                                    *order.line_items[1:])})
    decision = next(d for d in evaluate(order, DEFAULTS, run_id="r").decisions if d.rule_id == "no_formula_text")
    assert decision.outcome is Outcome.block and "line 1 description" in decision.reason


@pytest.mark.parametrize("text", ["-10% loyalty discount", "- 2 filters", "Compressor swap (R-410A)", "1+1 offer"])
def test_ordinary_text_with_a_sign_or_a_bracket_is_not_a_formula(build, text):
    order = build.order()
    order = order.model_copy(update={"line_items": (order.line_items[0].model_copy(update={"description": text}),
                                                    *order.line_items[1:])})
    decision = next(d for d in evaluate(order, DEFAULTS, run_id="r").decisions if d.rule_id == "no_formula_text")
    assert decision.outcome is Outcome.passed
