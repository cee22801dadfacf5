"""Telling people: record each notification once under its key, send the due ones, retry, and never lose a failure.

Four kinds (``notifications.NoticeKind``): ``case_assigned`` (the assignee, by e-mail), ``high_severity_opened``
(the company's on-call address and webhook), ``daily_digest`` (each person who takes cases: theirs, and the
unassigned ones older than the company's SLA); and ``customer_request`` (a blocked job's customer, recorded by
``services.customer_requests``). Recording and sending are apart: a notice is recorded in the
unit of work of what caused it, then ``send_due`` sends it, counts its attempts, waits longer after each
failure, and after the last one writes the failure on its case (or, for a digest, in the audit trail).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from exceptions_queue.cases import Case, CaseStatus, Severity
from exceptions_queue.service import SYSTEM_ACTOR, CaseQueue
from notifications.errors import NotifyError
from notifications.messages import (Channel, Notice, NoticeKind, NoticeRecord, NoticeStatus, case_assigned_key,
                                    clip_error, digest_key, high_severity_key)
from services.config import CloseoutConfig, CompanyConfig
from services.runtime import Store, UnitOfWork

MAX_ATTEMPTS = 5
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
"""The wait after the 1st, 2nd, ... failed attempt; the 5th failure is the last (about 2.5 hours after the first)."""
LEASE = timedelta(minutes=10)
"""How long a sender holds a notice it is sending: longer than any SMTP or webhook timeout."""
ANNOUNCE_WINDOW = timedelta(hours=24)
"""A high-severity case opened longer ago than this is not announced (turning notifications on tells no history)."""
DIGEST_ITEMS = 50
OPEN = (CaseStatus.open, CaseStatus.in_progress)
NOTIFICATION_FAILED = "notification_failed"


class Notifier(Protocol):
    """One channel's sender: ``notifications.SmtpNotifier``, ``notifications.WebhookNotifier``, or a test's."""

    def send(self, notice: Notice) -> None:
        """Deliver it, or raise ``notifications.NotifyError`` (``retriable`` says whether to try again)."""


NotifierFor = Callable[[str, Channel], Notifier | None]
"""The sender of a company's channel, or None when the company's config sets that channel up not at all."""


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


# ---- recording ---------------------------------------------------------------------------------


def record_case_assigned(uow: UnitOfWork, case: Case) -> list[str]:
    """After ``case`` was assigned (its last history entry): tell the assignee, once for this assignment.

    Nobody is told when the case already was theirs, when they took it themselves, when they have no e-mail, or
    when the case is of a company they do not see (``User.companies``).
    """
    if case.id is None or not case.history or not case.assignee:
        return []
    entry = case.history[-1]
    if entry.action != "assigned" or entry.before.get("assignee") == case.assignee or entry.actor == case.assignee:
        return []
    person = uow.users.get(case.assignee)
    if person is None or not person.email or not person.sees(case.company):
        return []
    body = "\n".join([
        f"{entry.actor} assigned case #{case.id} to you.",
        "",
        f"{case.summary}",
        "",
        f"kind: {case.kind}  severity: {case.severity}  company: {case.company}",
        *([f"work order: {case.work_order_id}"] if case.work_order_id else []),
        f"See it with: closeout cases show {case.id}",
    ])
    notice = Notice(key=case_assigned_key(case.id, case.assignee, len(case.history)), kind=NoticeKind.case_assigned,
                    company=case.company, recipient=person.email, channel=Channel.email, case_id=case.id,
                    subject=f"Case #{case.id} assigned to you: {case.kind} ({case.company})", body=body)
    return uow.notifications.record([notice])


def record_high_severity(store: Store, config: CloseoutConfig) -> list[str]:
    """Each open high-severity case opened in the last ``ANNOUNCE_WINDOW``, once to the company's on-call address
    and once to its webhook, as its config sets them up."""
    added: list[str] = []
    with store.unit_of_work() as uow:
        since = uow.clock() - ANNOUNCE_WINDOW
        for company in config.companies:
            notify = company.notify
            if notify is None or not (notify.on_call or notify.webhook):
                continue
            cases = [case for case in uow.cases.list(statuses=OPEN, company=company.id, limit=5000)
                     if case.severity is Severity.high and case.opened_at >= since and case.id is not None]
            notices = []
            for case in cases:
                subject = f"High-severity case #{case.id} in {company.id}: {case.kind}"
                body = f"{case.summary}\n\nopened {case.opened_at:%Y-%m-%d %H:%M} UTC; closeout cases show {case.id}"
                if notify.on_call:
                    notices.append(Notice(key=high_severity_key(case.id, Channel.email),
                                          kind=NoticeKind.high_severity_opened, company=company.id,
                                          recipient=notify.on_call, channel=Channel.email, case_id=case.id,
                                          subject=subject, body=body))
                if notify.webhook:
                    notices.append(Notice(key=high_severity_key(case.id, Channel.webhook),
                                          kind=NoticeKind.high_severity_opened, company=company.id,
                                          recipient="webhook", channel=Channel.webhook, case_id=case.id,
                                          subject=subject, body=body))
            added += uow.notifications.record(notices)
        uow.commit()
    return added


def record_digests(store: Store, company: CompanyConfig) -> list[str]:
    """Today's digest (the company's day) for each person with an e-mail who takes cases: their open cases of the
    company, and its unassigned open ones older than its SLA. Nothing to say, no digest; a person limited to other
    companies (``User.companies``) gets none of this one's; a second call the same day finds each digest recorded
    already and adds none."""
    sla = timedelta(hours=company.notify.sla_hours if company.notify else 24)
    with store.unit_of_work() as uow:
        now = uow.clock()
        day = now.astimezone(ZoneInfo(company.timezone)).date().isoformat()
        cases = uow.cases.list(statuses=OPEN, company=company.id, limit=100_000)
        stale = sorted((c for c in cases if c.assignee is None and c.opened_at <= now - sla), key=lambda c: c.id or 0)
        notices = []
        for person in uow.users.all():
            if not person.email or not person.can_decide or not person.sees(company.id):
                continue
            mine = sorted((c for c in cases if c.assignee == person.username), key=lambda c: c.id or 0)
            if not mine and not stale:
                continue
            body = "\n".join([f"Closeout, {company.name}, {day}", "",
                              *_digest_section(f"Your open cases ({len(mine)})", mine, now),
                              *_digest_section(f"Unassigned for more than {int(sla.total_seconds() // 3600)} hours "
                                               f"({len(stale)})", stale, now)])
            notices.append(Notice(key=digest_key(company.id, person.username, day), kind=NoticeKind.daily_digest,
                                  company=company.id, recipient=person.email, channel=Channel.email,
                                  subject=f"Closeout daily digest for {company.id}, {day}: {len(mine)} yours, "
                                          f"{len(stale)} unassigned",
                                  body=body))
        added = uow.notifications.record(notices)
        uow.commit()
    return added


def _digest_section(title: str, cases: Sequence[Case], now: datetime) -> list[str]:
    if not cases:
        return []
    lines = [title]
    for case in cases[:DIGEST_ITEMS]:
        age = int((now - case.opened_at).total_seconds() // 3600)
        lines.append(f"  #{case.id} {case.severity} {case.kind}: {case.summary} ({age} h old)")
    if len(cases) > DIGEST_ITEMS:
        lines.append(f"  ... and {len(cases) - DIGEST_ITEMS} more: closeout cases list")
    return lines + [""]


# ---- sending -----------------------------------------------------------------------------------


def send_due(store: Store, notifier_for: NotifierFor, *, limit: int = 200) -> SendReport:
    """Send every pending notice whose time has come, each claimed first so two senders never both send it.

    A failure is retried after ``BACKOFF`` on a later call, up to ``MAX_ATTEMPTS``; a refusal that cannot get
    better (a bad login, a refused recipient, a channel the company has not set up) is the last attempt at once.
    The last failure stays in the store as ``failed`` and is written on the notice's case (a digest's, which has
    no case, in the audit trail). No transaction is held while a server is talked to.
    """
    report = SendReport()
    with store.unit_of_work() as uow:
        due = uow.notifications.due(limit=limit)
    for record in due:
        with store.unit_of_work() as uow:
            claimed = uow.notifications.claim(record.notice.key, lease=LEASE)
            uow.commit()
        if claimed is None:
            continue  # another sender has it
        error = _deliver(claimed.notice, notifier_for)
        _finish(store, claimed, error, report)
    return report


def _deliver(notice: Notice, notifier_for: NotifierFor) -> NotifyError | None:
    notifier = notifier_for(notice.company, notice.channel)
    if notifier is None:
        return NotifyError(f"company {notice.company} has no {notice.channel} set up in its notify config",
                           retriable=False)
    try:
        notifier.send(notice)
    except NotifyError as exc:
        return exc
    return None


def _finish(store: Store, record: NoticeRecord, error: NotifyError | None, report: SendReport) -> None:
    notice = record.notice
    with store.unit_of_work() as uow:
        if error is None:
            uow.notifications.mark_sent(notice.key)
            report.sent.append(notice.key)
        elif error.retriable and record.attempts < MAX_ATTEMPTS:
            wait = BACKOFF[min(record.attempts, len(BACKOFF)) - 1]
            uow.notifications.mark_failed(notice.key, error=str(error), retry_at=uow.clock() + wait)
            report.retrying.append((notice.key, str(error)))
        else:
            uow.notifications.mark_failed(notice.key, error=str(error), retry_at=None)
            _tell_failure(uow, record, str(error))
            report.failed.append((notice.key, str(error)))
        uow.commit()


def _tell_failure(uow: UnitOfWork, record: NoticeRecord, reason: str) -> None:
    """The failure where a person looks: the case's history, else the audit trail."""
    notice = record.notice
    tries = f"{record.attempts} attempt" + ("s" if record.attempts != 1 else "")
    note = clip_error(f"{notice.kind} notification to {notice.recipient} by {notice.channel} failed after {tries}: "
                      f"{reason}")
    if notice.case_id is not None and uow.cases.get(notice.case_id) is not None:
        CaseQueue(uow.cases, clock=uow.clock).record(notice.case_id, actor=SYSTEM_ACTOR, action=NOTIFICATION_FAILED,
                                                     note=note, after={"notification": notice.key})
    else:
        uow.audit.append(actor=SYSTEM_ACTOR, action=NOTIFICATION_FAILED, subject=f"notification:{notice.key}",
                         note=note)


def notices(store: Store, *, status: NoticeStatus | None = None, limit: int = 200) -> list[NoticeRecord]:
    """The newest notices first, for `closeout notify list`."""
    with store.unit_of_work() as uow:
        return uow.notifications.all(status=status, limit=limit)


__all__ = ["ANNOUNCE_WINDOW", "BACKOFF", "MAX_ATTEMPTS", "NOTIFICATION_FAILED", "Notifier", "NotifierFor",
           "SendReport", "notices", "record_case_assigned", "record_digests", "record_high_severity", "send_due"]
