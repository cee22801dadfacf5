"""Closeout evidence: proof that the work was done and accepted before it is billed."""

from __future__ import annotations

from workorders.rules._model import Check, RuleSettings, blocked, passed, rule
from workorders.work_order import AttachmentKind, JobType, Provenance, WorkOrder, WorkOrderStatus


MAX_REASONS = 3
"""Pieces of evidence a decision names by the reason they do not count; the evidence lists them all."""


def _not_counted(pieces: list[tuple[str, Provenance | None]]) -> list[dict[str, str]]:
    return [{"what": what, "standing": p.standing.value, "why": p.why} for what, p in pieces
            if p is not None and not p.counts]


def _with_reasons(reason: str, not_counted: list[dict[str, str]]) -> str:
    """The reason, and why the evidence the job carries does not satisfy the rule (shown, never used)."""
    if not not_counted:
        return reason
    whys = list(dict.fromkeys(item["why"] for item in not_counted))
    more = f" (and {len(whys) - MAX_REASONS} more)" if len(whys) > MAX_REASONS else ""
    return f"{reason}; not counted: {'; '.join(whys[:MAX_REASONS])}{more}"


@rule("sign_off_required", version=2, actions=("request_sign_off", "approve_override", "fix_at_source"))
def check_sign_off(order: WorkOrder, settings: RuleSettings) -> Check:
    """Finance bills only work the customer accepted: a signature or a recorded sign-off is the proof disputes need.

    Only evidence that counts: a signature or sign-off the source declared, or one from mail whose sender is
    entitled and authenticated (``Provenance``); a signature image alone is unconfirmed. Whatever the job
    carries that does not count is named in the decision, with why.
    """
    if not settings.require_sign_off:
        return passed("the company does not require a customer sign-off")
    if order.status is not WorkOrderStatus.completed:
        return passed(f"no sign-off expected before completion (status {order.status.value})")
    images = [a for a in order.attachments if a.kind is AttachmentKind.signature]
    approvals = [a for a in order.approvals if a.kind == "sign_off"]
    signatures = [a.file_name for a in images if a.counts]
    sign_offs = [f"{a.approved_by} at {a.approved_at.isoformat()}" for a in approvals if a.counts]
    if signatures or sign_offs:
        return passed("customer signed off", signatures=signatures, sign_offs=sign_offs)
    not_counted = _not_counted([(a.file_name, a.provenance) for a in images]
                               + [(f"sign-off by {a.approved_by}", a.provenance) for a in approvals])
    return blocked(_with_reasons("completed without a customer sign-off (no signature, no sign_off approval)",
                                 not_counted), not_counted=not_counted)


@rule("photos_before_after", version=2, job_types=(JobType.installation,),
      actions=("request_photos", "approve_override"))
def check_photos(order: WorkOrder, settings: RuleSettings) -> Check:
    """An installation is billed with photos of before and after: the customer's proof of what they paid for.

    A photo from mail counts only from an entitled, authenticated sender (``Provenance``); others are named.
    """
    if order.status is not WorkOrderStatus.completed:
        return passed(f"no photos expected before completion (status {order.status.value})")
    kinds = (AttachmentKind.photo_before, AttachmentKind.photo_after)
    found = {kind: [a.file_name for a in order.attachments if a.kind is kind and a.counts] for kind in kinds}
    evidence = {"before": found[AttachmentKind.photo_before], "after": found[AttachmentKind.photo_after]}
    missing = [kind.value for kind, names in found.items() if not names]
    if missing:
        not_counted = _not_counted([(a.file_name, a.provenance) for a in order.attachments
                                    if a.kind.value in missing])
        return blocked(_with_reasons(f"{order.job_type.value} job completed without a {' or '.join(missing)}",
                                     not_counted), missing=missing, not_counted=not_counted, **evidence)
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
