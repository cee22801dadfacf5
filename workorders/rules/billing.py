"""Whether a job is billable at all, the amount approval, and the default rule set in the order it runs."""

from __future__ import annotations

from workorders.rules._model import Check, RuleContext, RuleSettings, blocked, no_invoice, passed, rule
from workorders.rules.evidence import check_note, check_photos, check_sign_off
from workorders.rules.integrity import (
    check_billing_email, check_change_requests, check_currency, check_duplicate, check_formula_text, check_not_invoiced,
)
from workorders.rules.labour import check_labour
from workorders.rules.lines import check_below_cost, check_billable_lines, check_item_codes, check_priced
from workorders.work_order import Billing, WorkOrder, WorkOrderStatus

OPEN_STATUSES = (WorkOrderStatus.scheduled, WorkOrderStatus.in_progress, WorkOrderStatus.on_hold)
GONE_STATUSES = (WorkOrderStatus.cancelled, WorkOrderStatus.deleted)


@rule("cancelled_no_invoice")
def check_cancelled(order: WorkOrder, settings: RuleSettings) -> Check:
    """A cancelled or deleted job is never billed, but the decision is logged so the job is accounted for."""
    if order.status in GONE_STATUSES:
        return no_invoice(f"job is {order.status.value}", status=order.status.value)
    return passed(f"job is {order.status.value}, not cancelled", status=order.status.value)


@rule("invoiced_elsewhere")
def check_invoiced_elsewhere(order: WorkOrder, settings: RuleSettings, context: RuleContext) -> Check:
    """A company that billed before Closeout must not bill its old jobs twice: what it says was invoiced elsewhere is not.

    A job is history when it was completed before the cutover date (``closeout cutover --invoiced-before``), is
    on the cutover's list of jobs, or was last changed at its source before that source's ``start``. A job
    Closeout itself invoiced is past this rule: ``not_invoiced_before`` judges its changes.
    """
    cutover = context.cutover
    evidence = {"recorded_by": cutover.recorded_by} if cutover.recorded_by else {}
    if context.invoiced:
        return passed("Closeout invoiced an earlier version of this job", **evidence)
    if order.external_id in cutover.jobs or order.job_number in cutover.jobs:
        return no_invoice(f"job {order.job_number} is on the cutover's list of jobs invoiced elsewhere",
                          listed=order.job_number, **evidence)
    completed = order.completed_at or (order.updated_at if order.status is WorkOrderStatus.completed else None)
    before = cutover.invoiced_before
    if before is not None and completed is not None and completed < before:
        return no_invoice(f"completed {completed.date().isoformat()}, before the cutover of "
                          f"{before.date().isoformat()}: invoiced elsewhere",
                          completed_at=completed.isoformat(), invoiced_before=before.isoformat(), **evidence)
    start = cutover.source_starts.get(order.source)
    if start is not None and order.updated_at < start:
        return no_invoice(f"last changed {order.updated_at.date().isoformat()}, before {order.source}'s start of "
                          f"{start.date().isoformat()}: history, not Closeout's to bill",
                          updated_at=order.updated_at.isoformat(), source_start=start.isoformat())
    if before is None and start is None and not cutover.jobs:
        return passed("no cutover recorded for the company")
    return passed("the job is after the cutover", **({"invoiced_before": before.isoformat()} if before else {}),
                  **evidence)


@rule("job_not_completed")
def check_completed(order: WorkOrder, settings: RuleSettings) -> Check:
    """Only finished work is billed; an open job is not wrong, just not ready yet, and is seen again when it changes."""
    if order.status in OPEN_STATUSES:
        return no_invoice(f"not completed yet (status {order.status.value})", status=order.status.value)
    if order.status in GONE_STATUSES:
        return passed(f"job is {order.status.value}; cancelled_no_invoice decides it", status=order.status.value)
    return passed("job is completed", status=order.status.value)


@rule("no_charge_no_invoice")
def check_no_charge(order: WorkOrder, settings: RuleSettings) -> Check:
    """Warranty and no-charge work is done for free: it gets no invoice, and the log says so."""
    if order.billing is Billing.billable:
        return passed("the job is billable", billing=order.billing.value)
    return no_invoice(f"{order.billing.value.replace('_', '-')} job: no invoice", billing=order.billing.value)


@rule("approval_over_amount", actions=("record_approval", "approve_override", "fix_at_source"))
def check_amount_approved(order: WorkOrder, settings: RuleSettings) -> Check:
    """Large invoices surprise customers; above the company's threshold someone must have approved the amount."""
    threshold, subtotal = settings.approval_threshold, order.subtotal
    evidence = {"subtotal": str(subtotal), "threshold": str(threshold), "currency": order.currency}
    if subtotal <= threshold:
        return passed(f"subtotal {subtotal} is within the {threshold} threshold", **evidence)
    approvals = [f"{a.approved_by} at {a.approved_at.isoformat()}" for a in order.approvals if a.kind == "amount"]
    if approvals:
        return passed(f"subtotal {subtotal} is over {threshold} and was approved", approvals=approvals, **evidence)
    reason = f"subtotal {subtotal} {order.currency} is over {threshold} with no approval of the amount"
    return blocked(reason, **evidence)


DEFAULT_RULES = (
    check_cancelled, check_invoiced_elsewhere, check_completed, check_no_charge, check_not_invoiced,
    check_labour,
    check_sign_off, check_photos, check_note,
    check_priced, check_item_codes, check_below_cost, check_change_requests,
    check_amount_approved, check_duplicate, check_billing_email, check_currency, check_billable_lines,
    check_formula_text,
)
"""Every rule ``evaluate`` runs unless told otherwise, in the order their decisions are recorded.

Transforms come first, so every later rule (and the draft) sees the order as it will be billed.
"""
