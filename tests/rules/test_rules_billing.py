from decimal import Decimal

import pytest

from workorders.decisions import Outcome
from workorders.rules import RuleSettings
from workorders.rules.billing import (
    check_amount_approved, check_billable_lines, check_cancelled, check_completed, check_priced, check_sign_off,
)
from workorders.work_order import Attachment, AttachmentKind, WorkOrderStatus

DEFAULTS = RuleSettings()
OPEN = [WorkOrderStatus.scheduled, WorkOrderStatus.in_progress, WorkOrderStatus.on_hold]
GONE = [WorkOrderStatus.cancelled, WorkOrderStatus.deleted]


def outcome(rule, order, settings=DEFAULTS):
    return rule.check(order, settings).outcome


@pytest.mark.parametrize("status", GONE)
def test_a_cancelled_or_deleted_job_needs_no_invoice(build, status):
    found = check_cancelled.check(build.order(status=status), DEFAULTS)
    assert (found.outcome, found.reason) == (Outcome.no_invoice, f"job is {status.value}")


@pytest.mark.parametrize("status", OPEN + [WorkOrderStatus.completed])
def test_a_job_that_is_not_cancelled_passes_the_cancellation_rule(build, status):
    assert outcome(check_cancelled, build.order(status=status)) is Outcome.passed


@pytest.mark.parametrize("status", OPEN)
def test_an_open_job_is_not_invoiced_yet_and_says_why(build, status):
    found = check_completed.check(build.order(status=status, completed_at=None), DEFAULTS)
    assert found.outcome is Outcome.no_invoice
    assert found.reason == f"not completed yet (status {status.value})"


@pytest.mark.parametrize("status", GONE + [WorkOrderStatus.completed])
def test_completed_and_cancelled_jobs_pass_the_completion_rule(build, status):
    assert outcome(check_completed, build.order(status=status)) is Outcome.passed


def test_a_completed_job_without_a_sign_off_is_blocked(build):
    found = check_sign_off.check(build.order(approvals=()), DEFAULTS)
    assert found.outcome is Outcome.block
    assert "without a customer sign-off" in found.reason


def test_a_signature_attachment_counts_as_sign_off(build):
    signature = Attachment(content_hash="ab" * 32, file_name="signature.png", kind=AttachmentKind.signature)
    found = check_sign_off.check(build.order(approvals=(), attachments=(signature,)), DEFAULTS)
    assert found.outcome is Outcome.passed and found.evidence["signatures"] == ["signature.png"]


def test_a_sign_off_approval_counts_as_sign_off(build):
    assert outcome(check_sign_off, build.order()) is Outcome.passed


def test_an_amount_approval_or_a_photo_is_not_a_sign_off(build):
    photo = Attachment(content_hash="cd" * 32, file_name="after.jpg", kind=AttachmentKind.photo_after)
    order = build.order(approvals=(build.approval("amount"),), attachments=(photo,))
    assert outcome(check_sign_off, order) is Outcome.block


def test_a_company_that_does_not_require_sign_off_is_not_blocked(build):
    assert outcome(check_sign_off, build.order(approvals=()), RuleSettings(require_sign_off=False)) is Outcome.passed


@pytest.mark.parametrize("status", OPEN + GONE)
def test_no_sign_off_is_expected_before_completion(build, status):
    assert outcome(check_sign_off, build.order(status=status, approvals=())) is Outcome.passed


def test_lines_without_a_price_are_blocked_and_named(build):
    lines = (
        build.line("labour", "125.00", source_id="J1:1"),
        build.line("part", None, source_id="J1:2", description="Condenser fan motor", item_code="MOT-CF-14"),
        build.line("material", None, source_id="J1:3", description="Refrigerant"),
    )
    found = check_priced.check(build.order(line_items=lines), DEFAULTS)
    assert found.outcome is Outcome.block
    assert found.reason == "2 line(s) without a price: 'Condenser fan motor' (MOT-CF-14), 'Refrigerant'"
    assert [u["line"] for u in found.evidence["unpriced"]] == ["J1:2", "J1:3"]


@pytest.mark.parametrize("kind", ["labour", "part", "material", "fee", "discount"])
def test_every_kind_of_line_needs_a_price(build, kind):
    assert outcome(check_priced, build.order(line_items=(build.line(kind, None),))) is Outcome.block


def test_a_price_of_zero_is_a_price(build):
    assert outcome(check_priced, build.order(line_items=(build.line("part", "0.00"),))) is Outcome.passed


def test_a_subtotal_exactly_at_the_threshold_passes_without_approval(build):
    order = build.order(line_items=(build.line("part", "5000.00"),))
    assert order.subtotal == Decimal("5000.00")
    assert outcome(check_amount_approved, order) is Outcome.passed


def test_a_subtotal_one_cent_over_the_threshold_is_blocked_without_approval(build):
    found = check_amount_approved.check(build.order(line_items=(build.line("part", "5000.01"),)), DEFAULTS)
    assert found.outcome is Outcome.block
    assert found.reason == "subtotal 5000.01 USD is over 5000 with no approval of the amount"
    assert found.evidence == {"subtotal": "5000.01", "threshold": "5000", "currency": "USD"}


def test_an_approved_amount_over_the_threshold_passes(build):
    order = build.order(line_items=(build.line("part", "8440.00"),), approvals=(build.approval("amount"),))
    assert outcome(check_amount_approved, order) is Outcome.passed


def test_a_sign_off_is_not_an_approval_of_the_amount(build):
    order = build.order(line_items=(build.line("part", "8440.00"),))
    assert outcome(check_amount_approved, order) is Outcome.block


def test_the_threshold_is_the_company_setting_and_discounts_count(build):
    lines = (build.line("part", "1200.00"), build.line("discount", "250.00", source_id="J1:d"))
    order = build.order(line_items=lines)
    assert outcome(check_amount_approved, order, RuleSettings(approval_threshold="950")) is Outcome.passed
    assert outcome(check_amount_approved, order, RuleSettings(approval_threshold="949.99")) is Outcome.block


def test_a_completed_job_without_lines_is_blocked(build):
    found = check_billable_lines.check(build.order(line_items=()), DEFAULTS)
    assert (found.outcome, found.reason) == (Outcome.block, "completed with no billable lines")


def test_a_discount_alone_is_nothing_to_bill(build):
    assert outcome(check_billable_lines, build.order(line_items=(build.line("discount", "25.00"),))) is Outcome.block


@pytest.mark.parametrize("status", OPEN + GONE)
def test_an_unfinished_job_without_lines_is_not_blocked_for_it(build, status):
    assert outcome(check_billable_lines, build.order(status=status, line_items=())) is Outcome.passed
