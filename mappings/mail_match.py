"""Mail matching, pure: a parsed message and the candidate work orders in, a ``MailMatch`` (with its reason) out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mappings.mail_parse import ParsedMessage
from workorders.work_order import WorkOrder

DEFAULT_JOB_PATTERNS = (r"\bWO-?(\d{3,})\b", r"\bJob\s*(?:#|No\.?|number)\s*(\d{3,})\b")


@dataclass(frozen=True)
class ThreadHit:
    """What the store knows about an earlier message of the thread."""

    message_id: str
    work_order_id: str
    job_number: str


@dataclass(frozen=True)
class MailMatch:
    """``work_order_id`` is None when the message cannot be placed; ``candidates`` then lists what it might be."""

    work_order_id: str | None
    method: str  # thread | job_number | sender | ambiguous | unmatched
    confidence: float
    explanation: str
    candidates: tuple[str, ...] = ()
    sender_role: str = ""  # customer | technician | ""

    @property
    def matched(self) -> bool:
        return self.work_order_id is not None


def find_job_numbers(text: str, patterns: Sequence[str]) -> list[str]:
    """Job numbers named in ``text``, in order of first appearance, each once."""
    found: list[str] = []
    for pattern in patterns:
        for hit in re.finditer(pattern, text, flags=re.IGNORECASE):
            number = hit.group(1) if hit.groups() else hit.group(0)
            if number not in found:
                found.append(number)
    return found


def sender_role(message: ParsedMessage, order: WorkOrder) -> str:
    """``customer`` for the job's customer address or a contact the source gives for it, ``technician`` for one
    of the job's technicians, "" for anyone else (the mailbox's staff list is ``mail_provenance``'s business)."""
    address = message.from_address
    customer = order.customer
    if address and any(a and address == a.lower() for a in (customer.email, *customer.contact_emails)):
        return "customer"
    if address and any(t.email and address == t.email.lower() for t in order.technicians):
        return "technician"
    return ""


def match_message(message: ParsedMessage, candidates: Sequence[WorkOrder], *, patterns: Sequence[str],
                  thread: Mapping[str, ThreadHit]) -> MailMatch:
    """Thread first, then job numbers (subject before body), then the sender; two answers mean a person decides."""
    by_id = {order.id: order for order in candidates}
    for mid in message.thread_ids:
        hit = thread.get(mid)
        if hit is not None and hit.work_order_id in by_id:
            order = by_id[hit.work_order_id]
            return MailMatch(order.id, "thread", 0.95,
                             f"reply in thread started by message {mid}, which named job {hit.job_number}",
                             sender_role=sender_role(message, order))
    by_number: dict[str, list[WorkOrder]] = {}
    for order in candidates:
        by_number.setdefault(order.job_number, []).append(order)
    for where, text, confidence in (("subject", message.subject, 0.9), ("body", message.text, 0.8)):
        named = [n for n in find_job_numbers(text, patterns) if n in by_number]
        orders = [order for n in named for order in by_number[n]]
        if len(orders) == 1:
            order = orders[0]
            role = sender_role(message, order)
            known = f"; the sender is the job's {role}" if role else ""
            return MailMatch(order.id, "job_number", min(0.99, confidence + (0.08 if role else 0)),
                             f"the {where} names job {order.job_number}{known}", sender_role=role)
        if len(orders) > 1:
            return MailMatch(None, "ambiguous", 0.0,
                             f"the {where} names {len(orders)} jobs: {', '.join(o.job_number for o in orders)}",
                             candidates=tuple(o.id for o in orders))
    senders = [order for order in candidates if sender_role(message, order)]
    open_jobs = [order for order in senders if order.status.value not in ("cancelled", "deleted")]
    if len(open_jobs) == 1:
        order = open_jobs[0]
        role = sender_role(message, order)
        return MailMatch(order.id, "sender", 0.6,
                         f"no job number; the sender {message.from_address} is the {role} of job {order.job_number} "
                         "and of no other job", sender_role=role)
    if len(open_jobs) > 1:
        return MailMatch(None, "ambiguous", 0.0,
                         f"no job number; the sender {message.from_address} belongs to {len(open_jobs)} jobs",
                         candidates=tuple(o.id for o in open_jobs))
    return MailMatch(None, "unmatched", 0.0,
                     "no thread, no job number and a sender unknown to every work order")
