"""Closeout evidence: proof that the work was done and accepted before it is billed."""

from __future__ import annotations

from workorders.rules._model import Check, RuleSettings, blocked, passed, rule
from workorders.work_order import AttachmentKind, JobType, WorkOrder, WorkOrderStatus


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


@rule("photos_before_after", job_types=(JobType.installation,), actions=("request_photos", "approve_override"))
def check_photos(order: WorkOrder, settings: RuleSettings) -> Check:
    """An installation is billed with photos of before and after: the customer's proof of what they paid for."""
    if order.status is not WorkOrderStatus.completed:
        return passed(f"no photos expected before completion (status {order.status.value})")
    found = {kind: [a.file_name for a in order.attachments if a.kind is kind]
             for kind in (AttachmentKind.photo_before, AttachmentKind.photo_after)}
    evidence = {"before": found[AttachmentKind.photo_before], "after": found[AttachmentKind.photo_after]}
    missing = [kind.value for kind, names in found.items() if not names]
    if missing:
        return blocked(f"{order.job_type.value} job completed without a {' or '.join(missing)}", missing=missing,
                       **evidence)
    return passed("before and after photos are attached", **evidence)


@rule("job_note_present", actions=("request_note", "approve_override"))
def check_note(order: WorkOrder, settings: RuleSettings) -> Check:
    """A job note says what was done; without one, nobody can answer the customer's question about the invoice."""
    if order.status is not WorkOrderStatus.completed:
        return passed(f"no note expected before completion (status {order.status.value})")
    notes = [note for note in order.notes if note.text.strip()]
    if notes:
        return passed(f"{len(notes)} job note(s)", first=notes[0].text[:200], author=notes[0].author)
    return blocked("completed without a job note")
