"""What a matched message gives its work order, pure: a field note, photos, a signature, a sign-off, a change request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from mappings.mail_match import MailMatch
from mappings.mail_parse import ParsedAttachment, ParsedMessage
from mappings.mail_provenance import ProvenancePolicy, SenderStanding, judge_sender
from workorders.work_order import (Approval, Attachment, AttachmentKind, ChangeRequest, EvidenceStanding, Note,
                                   WorkOrder)

MAX_NOTE = 4000
_SIGN_OFF = re.compile(r"\b(sign(ed|ing)?[- ]off|i approve|we approve|approved?\b.{0,40}\bwork|work (is )?accepted|"
                       r"happy with the work|accept the work)", re.IGNORECASE)
_CHANGE = re.compile(r"\b(could you (also|add)|can you (also|add)|please (also|add)|extra work|additional work|"
                     r"while you(?:'re| are) (there|at it)|quote (me )?for|change request)", re.IGNORECASE)
_QUOTE_HEAD = re.compile(r"^(On .{0,200}wrote:|-{2,}\s*Original Message\s*-{2,}|From: .*)$", re.IGNORECASE)


_EVIDENCE_KINDS = ("notes", "attachments", "approvals", "change_requests")
DEFAULT_POLICY = ProvenancePolicy()


@dataclass(frozen=True)
class MailEvidence:
    notes: tuple[Note, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    approvals: tuple[Approval, ...] = ()
    change_requests: tuple[ChangeRequest, ...] = ()

    def as_json(self) -> dict:
        return {name: [item.model_dump(mode="json") for item in getattr(self, name)] for name in _EVIDENCE_KINDS}

    @classmethod
    def from_json(cls, data: dict) -> "MailEvidence":
        return cls(notes=tuple(Note.model_validate(x) for x in data.get("notes", ())),
                   attachments=tuple(Attachment.model_validate(x) for x in data.get("attachments", ())),
                   approvals=tuple(Approval.model_validate(x) for x in data.get("approvals", ())),
                   change_requests=tuple(ChangeRequest.model_validate(x) for x in data.get("change_requests", ())))


def reply_text(text: str) -> str:
    """The new part of a reply: quoted lines and everything after an "On ... wrote:" line are dropped."""
    kept: list[str] = []
    for line in text.splitlines():
        if _QUOTE_HEAD.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    return "\n".join(kept).strip()


def attachment_kind(file_name: str, media_type: str, text: str) -> AttachmentKind:
    name = file_name.lower()
    if not media_type.startswith("image/"):
        return AttachmentKind.document
    if "signature" in name or re.search(r"\bsign(ed)?\b", name):
        return AttachmentKind.signature
    if "before" in name:
        return AttachmentKind.photo_before
    if "after" in name:
        return AttachmentKind.photo_after
    lowered = text.lower()
    if "before photo" in lowered or "photos before" in lowered and "after" not in lowered:
        return AttachmentKind.photo_before
    if "after photo" in lowered or "photos after" in lowered and "before" not in lowered:
        return AttachmentKind.photo_after
    return AttachmentKind.photo


def evidence_from(message: ParsedMessage, match: MailMatch, order: WorkOrder, *, received_at: datetime,
                  policy: ProvenancePolicy = DEFAULT_POLICY) -> MailEvidence:
    """Everything the message brings, kept and shown; each photo, signature and sign-off with its provenance.

    Anyone matched adds notes, photos and change requests, but a photo or signature counts for the rules only
    from an entitled sender whose message passes the mailbox's authentication policy (``mail_provenance``).
    A signature image is a signature by more than its name: it counts only with a sign-off sentence in the
    same message; alone it is an unconfirmed signature image. A sign-off sentence is the customer's
    acceptance: from the customer (or a contact) it is an approval; from anyone who is not entitled it is
    recorded too, not counting, so the rule can say whose it was; a technician's or staff member's words about
    a sign-off ("waiting for the sign-off") are only a note.
    """
    at = message.sent_at or received_at
    author = message.from_name or message.from_address or "unknown sender"
    text = reply_text(message.text)[:MAX_NOTE]
    source = f"mail:{message.message_id}"
    standing = judge_sender(message, order, policy)
    signs_off = bool(_SIGN_OFF.search(f"{message.subject}\n{text}"))
    notes = (Note(author=author, at=at, text=text or f"(no text) {message.subject}".strip(), source=source),)
    attachments = tuple(_attachment(a, text, source, standing, signs_off) for a in message.attachments
                        if not a.skipped)
    approvals: tuple[Approval, ...] = ()
    if signs_off and (standing.role == "customer" or not standing.role):
        provenance = standing.provenance(source, "sign-off")
        if not standing.role and provenance.standing is EvidenceStanding.sender_not_entitled:
            provenance = provenance.model_copy(update={
                "why": f"sign-off from {standing.sender or 'an unknown sender'} is not from the customer"})
        approvals = (Approval(kind="sign_off", approved_by=author, approved_at=at, reference=source,
                              provenance=provenance),)
    change_requests: tuple[ChangeRequest, ...] = ()
    if _CHANGE.search(text):
        first = next((line for line in text.splitlines() if _CHANGE.search(line)), text)[:500]
        change_requests = (ChangeRequest(source_id=source, description=first.strip()),)
    return MailEvidence(notes, attachments, approvals, change_requests)


def _attachment(part: ParsedAttachment, text: str, source: str, standing: SenderStanding,
                signs_off: bool) -> Attachment:
    kind = attachment_kind(part.file_name, part.media_type, text)
    if kind is AttachmentKind.signature:
        what = "sign-off"
    else:
        what = "photo" if part.media_type.startswith("image/") else "document"
    provenance = standing.provenance(source, what)
    if kind is AttachmentKind.signature and standing.entitled and not signs_off:
        provenance = standing.provenance(
            source, what, standing=EvidenceStanding.unconfirmed_signature,
            why=f"unconfirmed signature image {part.file_name} from {standing.sender}: "
                "no sign-off sentence came with it")
    return Attachment(content_hash=part.content_hash, file_name=part.file_name, media_type=part.media_type,
                      size_bytes=part.size_bytes, kind=kind, provenance=provenance)


def with_evidence(order: WorkOrder, evidence: list[MailEvidence]) -> WorkOrder:
    """The work order plus every piece of mail evidence it does not already carry, in arrival order.

    Linear in the pieces: each kind is an insertion-ordered dict of its (frozen, hashable) records, so a piece
    seen before keeps its first place. A list-membership test made 10 messages of 5,000 attachments run for
    minutes with nothing committed, and the next run started again.
    """
    kept = {name: dict.fromkeys(getattr(order, name)) for name in _EVIDENCE_KINDS}
    for item in evidence:
        for name in _EVIDENCE_KINDS:
            kept[name].update(dict.fromkeys(getattr(item, name)))
    return order.model_copy(update={name: tuple(pieces) for name, pieces in kept.items()})

