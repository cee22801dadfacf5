"""The built-in rules that decide whether a work order is ready to become an invoice."""

from __future__ import annotations

from workorders.rules._model import Check, RuleSettings, blocked, no_invoice, passed, rule
from workorders.work_order import AttachmentKind, LineKind, WorkOrder, WorkOrderStatus

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


@rule("sign_off_required", actions=("request_sign_off", "approve_override", "fix_at_source"))
def check_sign_off(order: WorkOrder, settings: RuleSettings) -> Check:
    """Finance bills only work the customer accepted: a signature or a recorded sign-off is the proof disputes need."""
    if not settings.require_sign_off:
        return passed("the company does not require a customer sign-off")
    if order.status is not WorkOrderStatus.completed:
        return passed(f"no sign-off expected before completion (status {order.status.value})")
    signatures = [a.file_name for a in order.attachments if a.kind is AttachmentKind.signature]
    sign_offs = [f"{a.approved_by} at {a.approved_at.isoformat()}" for a in order.approvals if a.kind == "sign_off"]
    if signatures or sign_offs:
        return passed("customer signed off", signatures=signatures, sign_offs=sign_offs)
    return blocked("completed without a customer sign-off (no signature, no sign_off approval)")


@rule("line_items_priced")
def check_priced(order: WorkOrder, settings: RuleSettings) -> Check:
    """A line without a price would be billed at nothing, silently; someone must price it at the source."""
    unpriced = [
        {"line": line.source_id, "kind": line.kind.value, "item_code": line.item_code, "description": line.description}
        for line in order.line_items
        if line.unit_price is None
    ]
    if not unpriced:
        return passed(f"all {len(order.line_items)} lines have a price")
    names = ", ".join(f"{u['description']!r}" + (f" ({u['item_code']})" if u["item_code"] else "") for u in unpriced)
    return blocked(f"{len(unpriced)} line(s) without a price: {names}", unpriced=unpriced)


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


@rule("has_billable_lines")
def check_billable_lines(order: WorkOrder, settings: RuleSettings) -> Check:
    """A completed job with nothing to bill is lines not yet entered, or free warranty work: a person says which."""
    if order.status is not WorkOrderStatus.completed:
        return passed(f"lines are not expected yet (status {order.status.value})")
    billable = [line.source_id for line in order.line_items if line.kind is not LineKind.discount]
    if billable:
        return passed(f"{len(billable)} billable line(s)")
    return blocked("completed with no billable lines", lines=len(order.line_items))


DEFAULT_RULES = (
    check_cancelled, check_completed, check_sign_off, check_priced, check_amount_approved, check_billable_lines,
)
"""Every rule ``evaluate`` runs unless told otherwise, in the order their decisions are recorded."""
