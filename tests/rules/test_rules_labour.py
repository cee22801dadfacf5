from datetime import UTC, datetime
from decimal import Decimal

import pytest

from workorders.decisions import Outcome
from workorders.rules import LabourRates, LabourSettings, RuleSettings, evaluate
from workorders.rules.labour import check_labour, rounded_hours
from workorders.work_order import JobType, Site, WorkOrderStatus

RATES = LabourRates(normal="125.00", after_hours="187.50", emergency="225.00")
SETTINGS = RuleSettings(labour_from_time_entries=LabourSettings(rates=RATES))
CHICAGO = Site(name="Bakery", timezone="America/Chicago")
# Tuesday 3 November 2026, 09:00 in Chicago (15:00 UTC): business hours.
MORNING = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
EVENING = datetime(2026, 11, 4, 1, 30, tzinfo=UTC)  # 19:30 in Chicago
SATURDAY = datetime(2026, 11, 7, 15, 0, tzinfo=UTC)


def time_only(build, *entries, **changes):
    """A job whose labour is only recorded time: no labour line yet."""
    lines = (build.line("part", "89.00", source_id="J1:2", item_code="CAP-45-5"),)
    return build.order(site=CHICAGO, time_entries=entries, line_items=lines, **changes)


def check(order, settings=SETTINGS):
    return check_labour.check(order, settings)


@pytest.mark.parametrize(("minutes", "increment", "hours"), [
    (60, 15, "1.00"), (61, 15, "1.25"), (75, 15, "1.25"), (76, 15, "1.50"), (1, 15, "0.25"), (0, 15, "0.00"),
    (20, 60, "1.00"), (20, 10, "0.33"), (90, 30, "1.50"), (91, 30, "2.00"),
])
def test_recorded_time_is_rounded_up_to_the_increment(minutes, increment, hours):
    assert rounded_hours(minutes * 60, increment) == Decimal(hours)


def test_time_in_business_hours_becomes_a_labour_line_at_the_normal_rate(build):
    found = check(time_only(build, build.entry(MORNING, 67)))
    assert found.outcome is Outcome.transform
    assert found.reason == "billed 1.25 h at 125.00 from 1 time entry"
    (labour,) = [line for line in found.result.line_items if line.kind.value == "labour"]
    assert (labour.quantity, labour.unit_price, labour.item_code, labour.taxable) == (
        Decimal("1.25"), Decimal("125.00"), "LAB-STD", False)
    assert found.evidence["before"]["labour_lines"] == []
    assert found.evidence["before"]["time_entries"][0]["tier"] == "normal"
    assert found.evidence["after"]["labour_lines"] == [{
        "line": "J1:time:normal", "tier": "normal", "hours": "1.25", "rate": "125.00", "amount": "156.25",
        "item_code": "LAB-STD",
    }]


@pytest.mark.parametrize(("start", "job_type", "tier", "rate"), [
    (EVENING, JobType.corrective, "after_hours", "187.50"),
    (SATURDAY, JobType.corrective, "after_hours", "187.50"),
    (MORNING, JobType.emergency, "emergency", "225.00"),
    (datetime(2026, 11, 3, 13, 0, tzinfo=UTC), JobType.corrective, "normal", "125.00"),  # 07:00 sharp: open
    (datetime(2026, 11, 3, 12, 59, tzinfo=UTC), JobType.corrective, "after_hours", "187.50"),  # 06:59
    (datetime(2026, 11, 4, 0, 0, tzinfo=UTC), JobType.corrective, "after_hours", "187.50"),  # 18:00 sharp: closed
])
def test_the_rate_follows_the_site_clock_the_weekday_and_the_job_type(build, start, job_type, tier, rate):
    found = check(time_only(build, build.entry(start, 60), job_type=job_type))
    labour = found.result.line_items[0]
    assert (found.evidence["after"]["labour_lines"][0]["tier"], labour.unit_price) == (tier, Decimal(rate))


def test_entries_at_two_rates_become_two_lines_each_rounded(build):
    found = check(time_only(build, build.entry(MORNING, 50, "T1"), build.entry(EVENING, 20, "T2")))
    lines = [(line.quantity, line.unit_price) for line in found.result.line_items if line.kind.value == "labour"]
    assert lines == [(Decimal("1.00"), Decimal("125.00")), (Decimal("0.50"), Decimal("187.50"))]


def test_a_short_job_is_billed_the_minimum_charge(build):
    found = check(time_only(build, build.entry(MORNING, 20)))
    assert found.result.line_items[0].quantity == Decimal("1.00")
    assert found.evidence["minimum_applied"] is True
    assert "minimum charge of 1 h applied" in found.reason


def test_non_billable_time_is_not_billed(build):
    found = check(time_only(build, build.entry(MORNING, 120, billable=False)))
    assert found.outcome is Outcome.passed and found.result is None


def test_time_at_a_rate_the_card_lacks_blocks_and_names_the_rate(build):
    settings = RuleSettings(labour_from_time_entries=LabourSettings(rates=LabourRates(normal="125.00")))
    found = check(time_only(build, build.entry(EVENING, 60)), settings)
    assert found.outcome is Outcome.block
    assert found.reason == ("time was recorded at the after_hours rate but the company's rate card has no "
                            "after_hours rate")


@pytest.mark.parametrize(("billed", "minutes", "outcome"), [
    ("1.5", 90, Outcome.passed), ("1.75", 90, Outcome.passed), ("1.76", 90, Outcome.block),
    ("1.25", 90, Outcome.passed), ("1.24", 90, Outcome.block), ("1", 30, Outcome.passed), ("3", 90, Outcome.block),
])
def test_billed_labour_hours_must_match_recorded_time_within_the_tolerance(build, billed, minutes, outcome):
    line = build.line("labour", "125.00", quantity=billed, source_id="J1:1")
    order = build.order(site=CHICAGO, time_entries=(build.entry(MORNING, minutes),), line_items=(line,))
    found = check(order)
    assert found.outcome is outcome, found.reason
    assert found.evidence["billed_hours"] == billed


def test_labour_billed_without_recorded_time_passes_as_entered(build):
    found = check(build.order())
    assert found.outcome is Outcome.passed and found.evidence == {"labour_lines": 1}


@pytest.mark.parametrize("status", [WorkOrderStatus.scheduled, WorkOrderStatus.cancelled])
def test_labour_is_not_transformed_before_completion(build, status):
    assert check(time_only(build, build.entry(MORNING, 60), status=status)).outcome is Outcome.passed


def test_the_transformed_order_is_what_later_rules_and_the_evaluation_see(build):
    order = time_only(build, build.entry(MORNING, 60 * 40))  # 40 h at 125 = 5000 + 89: over the threshold
    evaluation = evaluate(order, SETTINGS, run_id="r")
    assert evaluation.order.subtotal == Decimal("5089.00") and order.subtotal == Decimal("89.00")
    assert {d.rule_id: d.outcome for d in evaluation.decisions}["approval_over_amount"] is Outcome.block
    assert (evaluation.order.id, evaluation.order.version) == (order.id, order.version)


def test_the_transform_is_deterministic(build):
    order = time_only(build, build.entry(EVENING, 50, "T2"), build.entry(MORNING, 35, "T1"))
    first, second = evaluate(order, SETTINGS, run_id="r"), evaluate(order, SETTINGS, run_id="r")
    assert first == second and first.order == second.order
