"""What a notification says and to whom: its stable kind, its channel, its deterministic key, and its record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_SUBJECT = 200
MAX_BODY = 20_000
MAX_ERROR = 500


class NoticeKind(StrEnum):
    """Stable codes: they are part of each notification's key and of the store's rows."""

    case_assigned = "case_assigned"
    high_severity_opened = "high_severity_opened"
    daily_digest = "daily_digest"
    customer_request = "customer_request"
    """A blocked job's customer asked for its sign-off or photos (``services.customer_requests``): their reply
    is mail evidence for the job."""


ANSWERED_BY_MAIL = frozenset({NoticeKind.customer_request})
"""The kinds whose reply is meant for a mailbox Closeout reads: the e-mail carries the company's Reply-To."""


class Channel(StrEnum):
    email = "email"
    webhook = "webhook"


class NoticeStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


@dataclass(frozen=True)
class Notice:
    """One message to one recipient on one channel; ``key`` is what makes it be sent once.

    The text is fixed when the notice is recorded, so a retry hours later says what was true when it happened.
    Subject and body are cut to their limits here, so nothing larger ever reaches the store or a server.
    """

    key: str
    kind: NoticeKind
    company: str
    recipient: str
    channel: Channel
    subject: str
    body: str
    case_id: int | None = None

    def __post_init__(self) -> None:
        # a header must be one line: a newline in a subject would let text choose its own headers
        subject = " ".join(self.subject.split())[:MAX_SUBJECT]
        object.__setattr__(self, "subject", subject)
        object.__setattr__(self, "body", self.body[:MAX_BODY])


@dataclass(frozen=True)
class NoticeRecord:
    """A notice as the store keeps it: where its sending stands."""

    notice: Notice
    status: NoticeStatus
    attempts: int
    last_error: str
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None


def case_assigned_key(case_id: int, assignee: str, history_seq: int) -> str:
    """One per assignment: the same assignment sent twice is one row; assigned again later (A, B, A) is another."""
    return f"{NoticeKind.case_assigned}:{case_id}:{assignee}:{history_seq}"


def high_severity_key(case_id: int, channel: Channel) -> str:
    return f"{NoticeKind.high_severity_opened}:{case_id}:{channel}"


def digest_key(company: str, username: str, day: str) -> str:
    """One per person, company and calendar day (the company's own): a second digest that day finds it there."""
    return f"{NoticeKind.daily_digest}:{company}:{username}:{day}"


def customer_request_key(case_id: int, request: str, version: int, history_seq: int) -> str:
    """One per request on a case's version: the same click sent twice is one e-mail; asked again later, another."""
    return f"{NoticeKind.customer_request}:{case_id}:{request}:v{version}:{history_seq}"


def webhook_text(notice: Notice) -> str:
    """The one text a Slack- or Teams-style incoming webhook shows."""
    return f"{notice.subject}\n{notice.body}".strip()


def clip_error(text: str) -> str:
    """An error as it may be stored and shown: one line, bounded."""
    return " ".join(text.split())[:MAX_ERROR]
