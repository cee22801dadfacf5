"""Whether a job is billable at all, the amount approval, and the default rule set in the order it runs."""

from __future__ import annotations

from workorders.rules._model import Check, RuleSettings, blocked, no_invoice, passed, rule
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
    check_cancelled, check_completed, check_no_charge, check_not_invoiced,
    check_labour,
    check_sign_off, check_photos, check_note,
    check_priced, check_item_codes, check_below_cost, check_change_requests,
    check_amount_approved, check_duplicate, check_billing_email, check_currency, check_billable_lines,
    check_formula_text,
)
"""Every rule ``evaluate`` runs unless told otherwise, in the order their decisions are recorded.

Transforms come first, so every later rule (and the draft) sees the order as it will be billed.
"""
