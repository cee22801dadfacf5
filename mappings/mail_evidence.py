"""What a matched message gives its work order, pure: a field note, photos, a signature, a sign-off, a change request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from mappings.mail_match import MailMatch
from mappings.mail_parse import ParsedMessage
from workorders.work_order import Approval, Attachment, AttachmentKind, ChangeRequest, Note, WorkOrder

MAX_NOTE = 4000
_SIGN_OFF = re.compile(r"\b(sign(ed|ing)?[- ]off|i approve|we approve|approved?\b.{0,40}\bwork|work (is )?accepted|"
                       r"happy with the work|accept the work)", re.IGNORECASE)
_CHANGE = re.compile(r"\b(could you (also|add)|can you (also|add)|please (also|add)|extra work|additional work|"
                     r"while you(?:'re| are) (there|at it)|quote (me )?for|change request)", re.IGNORECASE)
_QUOTE_HEAD = re.compile(r"^(On .{0,200}wrote:|-{2,}\s*Original Message\s*-{2,}|From: .*)$", re.IGNORECASE)


_EVIDENCE_KINDS = ("notes", "attachments", "approvals", "change_requests")


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


def evidence_from(message: ParsedMessage, match: MailMatch, order: WorkOrder, *, received_at: datetime) -> MailEvidence:
    """Only a message from the job's customer can sign off; anyone matched can add notes and photos."""
    at = message.sent_at or received_at
    author = message.from_name or message.from_address or "unknown sender"
    text = reply_text(message.text)[:MAX_NOTE]
    source = f"mail:{message.message_id}"
    notes = (Note(author=author, at=at, text=text or f"(no text) {message.subject}".strip(), source=source),)
    attachments = tuple(
        Attachment(content_hash=a.content_hash, file_name=a.file_name, media_type=a.media_type,
                   size_bytes=a.size_bytes, kind=attachment_kind(a.file_name, a.media_type, text))
        for a in message.attachments if not a.skipped
    )
    approvals: tuple[Approval, ...] = ()
    if match.sender_role == "customer" and _SIGN_OFF.search(f"{message.subject}\n{text}"):
        approvals = (Approval(kind="sign_off", approved_by=author, approved_at=at, reference=source),)
    change_requests: tuple[ChangeRequest, ...] = ()
    if _CHANGE.search(text):
        first = next((line for line in text.splitlines() if _CHANGE.search(line)), text)[:500]
        change_requests = (ChangeRequest(source_id=source, description=first.strip()),)
    return MailEvidence(notes, attachments, approvals, change_requests)


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

