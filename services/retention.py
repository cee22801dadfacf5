"""Retention: raw payloads, raw mail and attachments a finished work order no longer needs go after ``retention_days``.

What goes, once older than the company's ``retention_days`` (``services.config``; a company's own value over the
top-level one; unset everywhere: nothing ever goes):

- raw payloads (``raw_payloads``, by when they were last received) of finished work orders, every revision; of a
  work order not finished, only revisions a later one superseded: its latest payload stays whatever its age, so it
  can still be replayed. A payload that never became a work order stays (its case holds it).
- kept raw messages (``mail/raw/<hash>.eml``) and their attachments (``attachments/``), by when the message was
  received, once the message is placed for good: attached to a finished work order, or in a case a person closed.
  A file shared with a message still kept (the same bytes in another mailbox or company) stays, and so does an
  attachment a push record still has to upload.
- the words of notifications done with (``notifications``: sent, by when; failed for good, by when recorded):
  recipient, subject, body and error are cleared, since they name people (a customer asked for a sign-off, the
  case summaries of an assignment or a digest). Pending ones stay whatever their age: they are still to be sent.
  Each row stays with its key, kind, status and times, so a notice is still sent once and its case still shows
  that it went.

What stays, always: work order versions, rule decisions, push records and their drafts, corrections, cases with
their history, the audit trail, and each message's row (sender, subject, where it went) with the evidence it gave
its work order. The evidence stays because the work order was built and decided from it, and because a changed copy
would make the job's next pull a new version. A finished work order's raw payload being gone, ``closeout replay``
can no longer re-map it; its work order and decisions explain it instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast

from exceptions_queue.cases import CaseStatus
from services.config import CloseoutConfig, CompanyConfig
from services.mail.files import attachment_path, raw_message_path
from services.runtime import Runtime, UnitOfWork

RETENTION_APPLIED = "retention_applied"
"""The audit trail's action for one application of retention that dropped anything."""
_CLOSED = {CaseStatus.resolved.value, CaseStatus.ignored.value}


class KeptPayload(Protocol):
    id: int
    work_order_id: str
    current: bool


class KeptMessage(Protocol):
    pk: int
    company: str
    message_id: str
    content_hash: str
    subject: str
    from_address: str
    work_order_id: str | None


class KeptAttachment(Protocol):
    message_pk: int
    seq: int
    content_hash: str
    file_name: str
    skipped: str


class KeptNotice(Protocol):
    id: int
    company: str
    kind: str
    status: str
    recipient: str
    subject: str
    body: str
    last_error: str
    case_id: int | None
    case_status: str | None
    case_work_order_id: str | None
    case_subject: str | None


class RetentionFacts(Protocol):
    """What retention reads from the store, and its writes (``storage.sql_retention.SqlRetention``)."""

    def finished_work_orders(self, work_order_ids: Iterable[str]) -> set[str]: ...

    def case_statuses(self, subjects: Iterable[str]) -> dict[str, set[str]]: ...

    def payloads_received_before(self, *, company: str, before: datetime) -> Sequence[KeptPayload]: ...

    def drop_payloads(self, ids: Iterable[int]) -> int: ...

    def messages_received_before(self, *, company: str, before: datetime) -> Sequence[KeptMessage]: ...

    def messages_with_content(self, content_hashes: Iterable[str]) -> dict[str, set[int]]: ...

    def attachments_of(self, message_pks: Iterable[int]) -> Sequence[KeptAttachment]: ...

    def messages_with_attachments(self, content_hashes: Iterable[str]) -> dict[str, set[int]]: ...

    def files_awaiting_upload(self, content_hashes: Iterable[str]) -> set[str]: ...

    def notices_done_before(self, *, company: str, before: datetime) -> Sequence[KeptNotice]: ...

    def rewrite_notice(self, notice_id: int, *, recipient: str, subject: str, body: str, last_error: str) -> None: ...


def facts_of(uow: UnitOfWork) -> Any:
    """The unit of work's retention repository (``uow.retention``), which the core's port does not name."""
    return cast(Any, uow).retention


def retention_days_for(config: CloseoutConfig, company: CompanyConfig) -> int | None:
    """The company's own ``retention_days``, else the config's; None: keep forever."""
    return company.retention_days if company.retention_days is not None else config.retention_days


@dataclass
class RetentionReport:
    """What retention dropped (``applied``) or would drop, and what it kept although older than the retention."""

    applied: bool
    days: dict[str, int | None] = field(default_factory=dict)
    payloads_of_finished: int = 0
    payloads_superseded: int = 0
    payloads_kept_unfinished: int = 0
    raw_messages: int = 0
    attachments: int = 0
    messages_kept_unplaced: int = 0
    files_kept_shared: int = 0
    notifications: int = 0
    """Notifications done with whose recipient, subject, body and error were (or would be) cleared."""

    @property
    def dropped(self) -> int:
        return (self.payloads_of_finished + self.payloads_superseded + self.raw_messages + self.attachments
                + self.notifications)

    def counts(self) -> dict[str, int]:
        return {name: value for name, value in asdict(self).items() if isinstance(value, int) and name != "applied"}

    def as_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "days": self.days, **self.counts()}


def apply_retention(app: Runtime, *, apply: bool = True, actor: str = "closeout",
                    now: datetime | None = None) -> RetentionReport:
    """Drop (with ``apply``) what every company's retention lets go, or only count it; the Prefect step calls this.

    The payload rows and the audit entry commit together, and the files go after the commit: a crash in between
    leaves files the next application drops (a file is only ever deleted for rows that no longer need it).
    """
    report = RetentionReport(applied=apply)
    report.days = {company.id: retention_days_for(app.config, company) for company in app.companies()}
    files: list[Path] = []
    with app.store.unit_of_work() as uow:
        facts: RetentionFacts = facts_of(uow)
        moment = now or uow.clock()
        cutoffs = {company: moment - timedelta(days=days) for company, days in report.days.items() if days}
        payloads = _expired_payloads(facts, cutoffs, report)
        files = _expired_files(app.home, facts, cutoffs, report)
        notices = _expired_notices(facts, cutoffs, report)
        if apply and report.dropped:
            facts.drop_payloads(payloads)
            for notice_id in notices:
                facts.rewrite_notice(notice_id, recipient="", subject="", body="", last_error="")
            uow.audit.append(actor=actor, action=RETENTION_APPLIED, subject="retention",
                             note=describe_retention(report), after={"days": report.days, **report.counts()})
            uow.commit()
    if apply:
        for path in files:
            _unlink(path)
    return report


def describe_retention(report: RetentionReport) -> str:
    """One line: what went (or would go), and what was kept although old."""
    verb = "dropped" if report.applied else "would drop"
    return (f"{verb} {report.payloads_of_finished} raw payload(s) of finished work orders, "
            f"{report.payloads_superseded} superseded payload(s) of unfinished ones, {report.raw_messages} raw "
            f"message(s), {report.attachments} attachment(s) and the text of {report.notifications} notification(s) "
            f"sent or failed for good; kept {report.payloads_kept_unfinished} latest "
            f"payload(s) of unfinished work orders, {report.messages_kept_unplaced} message(s) not placed for good "
            f"and {report.files_kept_shared} file(s) still needed elsewhere")


def _expired_payloads(facts: RetentionFacts, cutoffs: dict[str, datetime], report: RetentionReport) -> list[int]:
    dropped: list[int] = []
    for company, before in sorted(cutoffs.items()):
        rows = facts.payloads_received_before(company=company, before=before)
        finished = facts.finished_work_orders({row.work_order_id for row in rows})
        for row in rows:
            if row.work_order_id in finished:
                report.payloads_of_finished += 1
            elif not row.current:  # a later content replaced it: a replay reads only the latest
                report.payloads_superseded += 1
            else:
                report.payloads_kept_unfinished += 1
                continue
            dropped.append(row.id)
    return dropped


def _expired_notices(facts: RetentionFacts, cutoffs: dict[str, datetime], report: RetentionReport) -> list[int]:
    """The notifications whose words go: sent, or failed for good, before the company's cutoff."""
    found = [notice.id for company, before in sorted(cutoffs.items())
             for notice in facts.notices_done_before(company=company, before=before)]
    report.notifications = len(found)
    return found


def _expired_files(home: Path, facts: RetentionFacts, cutoffs: dict[str, datetime],
                   report: RetentionReport) -> list[Path]:
    """The raw messages and attachments to delete: every message keeping them has expired and is placed for good."""
    expired: list[KeptMessage] = []
    for company, before in sorted(cutoffs.items()):
        messages = facts.messages_received_before(company=company, before=before)
        placed = placed_for_good(facts, messages)
        report.messages_kept_unplaced += len(messages) - len(placed)
        expired += placed
    pks = {message.pk for message in expired}
    files: list[Path] = []
    for content_hash, holders in sorted(facts.messages_with_content({m.content_hash for m in expired}).items()):
        path = raw_message_path(home, content_hash)
        if not path.exists():
            continue  # dropped before, or never written
        if holders <= pks:
            files.append(path)
            report.raw_messages += 1
        else:
            report.files_kept_shared += 1
    kept = {a.content_hash for a in facts.attachments_of(pks) if not a.skipped}
    waiting = facts.files_awaiting_upload(kept)
    for content_hash, holders in sorted(facts.messages_with_attachments(kept).items()):
        path = attachment_path(home, content_hash)
        if not path.exists():
            continue
        if holders <= pks and content_hash not in waiting:
            files.append(path)
            report.attachments += 1
        else:
            report.files_kept_shared += 1
    return files


def placed_for_good(facts: RetentionFacts, messages: Sequence[KeptMessage]) -> list[KeptMessage]:
    """The messages no person or run will look at again: attached to a finished work order, or unmatched with
    their case closed (the audit's subjects: ``mail:<company>/<Message-ID>`` or ``/<content hash>``)."""
    finished = facts.finished_work_orders({m.work_order_id for m in messages if m.work_order_id})
    statuses = facts.case_statuses(subject for m in messages if not m.work_order_id for subject in mail_subjects(m))
    placed = []
    for message in messages:
        if message.work_order_id is not None:
            if message.work_order_id in finished:
                placed.append(message)
            continue
        seen = set().union(*(statuses.get(subject, set()) for subject in mail_subjects(message)))
        if seen and seen <= _CLOSED:
            placed.append(message)
    return placed


def mail_subjects(message: KeptMessage) -> tuple[str, str]:
    """The subjects a case about an unplaced message has (``services.mail.ingest``)."""
    return f"mail:{message.company}/{message.message_id}", f"mail:{message.company}/{message.content_hash}"


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass  # another application of retention or erasure got there first
