"""Retention and erasure in the store: what a finished work order still needs, and the rewrites that drop the rest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exceptions_queue.cases import CaseStatus
from notifications.messages import NoticeStatus
from storage.tables import (
    case_history, cases, corrections, mail_attachments, mail_matches, mail_messages, notifications, push_evidence,
    push_records, raw_payloads, rule_decisions, work_order_versions,
)
from workorders.correction_steps import CorrectionStatus
from workorders.decisions import Outcome
from workorders.push import PushStatus

CHUNK = 500  # ids per ``IN (...)``: well under SQLite's bound-parameter limit
_OPEN = (CaseStatus.open.value, CaseStatus.in_progress.value)
_CLOSED = (CaseStatus.resolved.value, CaseStatus.ignored.value)
_PUSH_PENDING = (PushStatus.ready.value, PushStatus.pushing.value, PushStatus.uncertain.value)
_CORRECTION_PENDING = (CorrectionStatus.planned.value, CorrectionStatus.sending.value, CorrectionStatus.uncertain.value)
_r, _v, _m, _a, _x = raw_payloads, work_order_versions, mail_messages, mail_attachments, mail_matches
_n = notifications


@dataclass(frozen=True)
class KeptPayload:
    """A raw payload row of a job Closeout holds a work order of; ``current`` when it is the job's latest content."""

    id: int
    work_order_id: str
    current: bool


@dataclass(frozen=True)
class KeptMessage:
    """A stored message, where it went (its match, if any) and what names its sender."""

    pk: int
    company: str
    message_id: str
    content_hash: str
    raw_path: str
    subject: str
    from_address: str
    work_order_id: str | None


@dataclass(frozen=True)
class KeptAttachment:
    message_pk: int
    seq: int
    content_hash: str
    file_name: str
    skipped: str


@dataclass(frozen=True)
class KeptNotice:
    """A notification row: its state, the text that may name a person, and the state of the case it is about."""

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


@dataclass(frozen=True)
class CaseText:
    """The parts of a case that may carry a person's words: its summary and evidence (subject and history stay)."""

    id: int
    company: str
    subject: str
    status: str
    work_order_id: str | None
    summary: str
    evidence: dict[str, Any]


def _chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    listed = sorted(set(items))
    for start in range(0, len(listed), CHUNK):
        yield listed[start:start + CHUNK]


def _job_key(work_order_id: str) -> tuple[str, str]:
    """(source, external id) of a work order id: ``{source}:{external_id}``, and no source kind holds a colon."""
    source, _, external_id = work_order_id.partition(":")
    return source, external_id


def _needles(needles: Iterable[str]) -> list[str]:
    """Each needle lowercased, and as the JSON text of a column shows it (SQLite keeps ``\\u00e9``, not ``é``)."""
    found: set[str] = set()
    for needle in needles:
        lowered = needle.lower()
        found.update((lowered, json.dumps(lowered)[1:-1]))
    return sorted(n for n in found if n)


def _contains_any(column: sa.ColumnElement[Any], needles: Sequence[str]) -> sa.ColumnElement[bool]:
    text = sa.func.lower(sa.cast(column, sa.Text))
    return sa.or_(*(text.contains(needle, autoescape=True) for needle in needles))


class SqlRetention:
    """Reads for the retention and erasure use cases (``services.retention``, ``services.erasure``), and their writes.

    Nothing here decides what may go: the use cases do, from these facts. The writes only drop raw payload rows
    and rewrite text (snapshots, drafts, evidence, summaries, notifications' words); an invoice's record, its
    amounts and statuses, a case's status and history, a notification's key and status, and the audit trail are
    never touched.
    """

    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    # -- what is finished ---------------------------------------------------------------------------------------

    def finished_work_orders(self, work_order_ids: Iterable[str]) -> set[str]:
        """Which of these work orders are finished: their latest version ended, and nothing about them waits.

        Ended: that version was evaluated and is invoiced (a pushed record of it, or a correction done to it),
        has a ``no_invoice`` decision, or has a case a person closed (resolved or ignored). Waiting: an open or
        in-progress case, a push record ready, pushing or uncertain, or a correction step not done or rejected.
        """
        finished: set[str] = set()
        for chunk in _chunks(work_order_ids):
            latest = dict(self._session.execute(
                sa.select(_v.c.work_order_id, sa.func.max(_v.c.version)).where(_v.c.work_order_id.in_(chunk))
                .group_by(_v.c.work_order_id)).all())
            d = rule_decisions.c
            evaluated: dict[tuple[str, int], bool] = {}
            for work_order_id, version, no_invoice in self._session.execute(
                sa.select(d.work_order_id, d.work_order_version,
                          sa.func.max(sa.case((d.outcome == Outcome.no_invoice.value, 1), else_=0)))
                .where(d.work_order_id.in_(chunk)).group_by(d.work_order_id, d.work_order_version)
            ):
                evaluated[(work_order_id, version)] = bool(no_invoice)
            p = push_records.c
            invoiced, waiting = set(), set()
            for work_order_id, version, status in self._session.execute(
                sa.select(p.work_order_id, p.work_order_version, p.status).where(p.work_order_id.in_(chunk))
            ):
                if status == PushStatus.pushed.value:
                    invoiced.add((work_order_id, version))
                elif status in _PUSH_PENDING:
                    waiting.add(work_order_id)
            c = corrections.c
            for work_order_id, version, status in self._session.execute(
                sa.select(c.work_order_id, c.to_version, c.status).where(c.work_order_id.in_(chunk))
            ):
                if status == CorrectionStatus.done.value:
                    invoiced.add((work_order_id, version))
                elif status in _CORRECTION_PENDING:
                    waiting.add(work_order_id)
            closed, asked = set(), set(chunk)
            k = cases.c
            for work_order_id, subject, status in self._session.execute(
                sa.select(k.work_order_id, k.subject, k.status)
                .where(k.work_order_id.in_(chunk) | k.subject.in_(chunk))
            ):
                for named in {work_order_id, subject} & asked:
                    (waiting if status in _OPEN else closed).add(named)
            for work_order_id, version in latest.items():
                key = (work_order_id, version)
                if work_order_id in waiting or key not in evaluated:
                    continue
                if key in invoiced or evaluated[key] or work_order_id in closed:
                    finished.add(work_order_id)
        return finished

    def case_statuses(self, subjects: Iterable[str]) -> dict[str, set[str]]:
        """The statuses of the cases about each of these subjects (a subject may have had several cases)."""
        found: dict[str, set[str]] = {}
        for chunk in _chunks(subjects):
            for subject, status in self._session.execute(
                sa.select(cases.c.subject, cases.c.status).where(cases.c.subject.in_(chunk))
            ):
                found.setdefault(subject, set()).add(status)
        return found

    # -- raw payloads -------------------------------------------------------------------------------------------

    def payloads_received_before(self, *, company: str, before: datetime) -> list[KeptPayload]:
        """Raw payload rows last received before ``before`` of the company's work orders; a payload that never
        became a work order (it did not map: its case holds it) is not among them."""
        orders = sa.select(_v.c.work_order_id).where(_v.c.company == company).distinct().subquery("orders")
        current = (sa.select(_r.c.source, _r.c.external_id, sa.func.max(_r.c.revision).label("revision"))
                   .group_by(_r.c.source, _r.c.external_id).subquery("current"))
        rows = self._session.execute(
            sa.select(_r.c.id, orders.c.work_order_id, (_r.c.revision == current.c.revision).label("current"))
            .join(orders, orders.c.work_order_id == _r.c.source + ":" + _r.c.external_id)
            .join(current, (current.c.source == _r.c.source) & (current.c.external_id == _r.c.external_id))
            .where(_r.c.last_received_at < before)
            .order_by(_r.c.id)
        )
        return [KeptPayload(id=row.id, work_order_id=row.work_order_id, current=bool(row.current)) for row in rows]

    def payloads_of(self, work_order_ids: Iterable[str]) -> list[int]:
        """Every raw payload row (each revision) of these work orders' jobs."""
        found: list[int] = []
        by_source: dict[str, list[str]] = {}
        for work_order_id in set(work_order_ids):
            source, external_id = _job_key(work_order_id)
            by_source.setdefault(source, []).append(external_id)
        for source, external_ids in sorted(by_source.items()):
            for chunk in _chunks(external_ids):
                found += self._session.execute(
                    sa.select(_r.c.id).where((_r.c.source == source) & _r.c.external_id.in_(chunk))).scalars()
        return sorted(found)

    def payloads_containing(self, needles: Sequence[str]) -> dict[int, str]:
        """Raw payload rows whose JSON text contains one of ``needles`` (any case): row id → its job's work order id."""
        if not needles:
            return {}
        rows = self._session.execute(
            sa.select(_r.c.id, _r.c.source, _r.c.external_id)
            .where(_contains_any(_r.c.payload, _needles(needles))))
        return {row.id: f"{row.source}:{row.external_id}" for row in rows}

    def payload_documents(self, ids: Iterable[int]) -> dict[int, Any]:
        """Row id → the payload as landed, for the rows asked."""
        found: dict[int, Any] = {}
        for chunk in _chunks(ids):
            found.update(self._session.execute(sa.select(_r.c.id, _r.c.payload).where(_r.c.id.in_(chunk))).all())
        return found

    def drop_payloads(self, ids: Iterable[int]) -> int:
        """Delete these raw payload rows; the number deleted."""
        dropped = 0
        for chunk in _chunks(ids):
            dropped += self._session.execute(sa.delete(_r).where(_r.c.id.in_(chunk))).rowcount
        return dropped

    # -- mail ---------------------------------------------------------------------------------------------------

    def _messages(self, condition: sa.ColumnElement[bool]) -> list[KeptMessage]:
        rows = self._session.execute(
            sa.select(_m.c.id, _m.c.company, _m.c.message_id, _m.c.content_hash, _m.c.raw_path, _m.c.subject,
                      _m.c.from_address, _x.c.work_order_id)
            .outerjoin(_x, _x.c.message_pk == _m.c.id).where(condition).order_by(_m.c.id))
        return [KeptMessage(pk=row.id, company=row.company, message_id=row.message_id, content_hash=row.content_hash,
                            raw_path=row.raw_path, subject=row.subject, from_address=row.from_address,
                            work_order_id=row.work_order_id) for row in rows]

    def messages_received_before(self, *, company: str, before: datetime) -> list[KeptMessage]:
        """The company's messages stored before ``before`` (when they were read, not when they were sent)."""
        return self._messages((_m.c.company == company) & (_m.c.received_at < before))

    def messages_of_company(self, company: str | None) -> list[KeptMessage]:
        """Every message of the company (of every company when None)."""
        return self._messages(_m.c.company == company if company is not None else sa.true())

    def messages_from_or_naming(self, *, addresses: Sequence[str], needles: Sequence[str],
                                company: str | None) -> list[KeptMessage]:
        """Messages sent from one of ``addresses`` (any case), or whose subject or sender contains a needle."""
        condition = sa.false()
        if addresses:
            condition = condition | sa.func.lower(_m.c.from_address).in_([a.lower() for a in addresses])
        if needles:
            condition = condition | _contains_any(_m.c.subject, _needles(needles)) | _contains_any(
                _m.c.from_address, _needles(needles))
        if company is not None:
            condition = condition & (_m.c.company == company)
        return self._messages(condition)

    def messages_matched_to(self, work_order_ids: Iterable[str]) -> list[KeptMessage]:
        found: list[KeptMessage] = []
        for chunk in _chunks(work_order_ids):
            found += self._messages(_x.c.work_order_id.in_(chunk))
        return found

    def messages_with_content(self, content_hashes: Iterable[str]) -> dict[str, set[int]]:
        """Content hash → the rows of every company keeping a message under it (they share its raw file)."""
        found: dict[str, set[int]] = {}
        for chunk in _chunks(content_hashes):
            for content_hash, pk in self._session.execute(
                sa.select(_m.c.content_hash, _m.c.id).where(_m.c.content_hash.in_(chunk))
            ):
                found.setdefault(content_hash, set()).add(pk)
        return found

    def attachments_of(self, message_pks: Iterable[int]) -> list[KeptAttachment]:
        """The attachment rows of these messages, in order."""
        found: list[KeptAttachment] = []
        for chunk in _chunks(message_pks):
            found += [KeptAttachment(message_pk=row.message_pk, seq=row.seq, content_hash=row.content_hash,
                                     file_name=row.file_name, skipped=row.skipped)
                      for row in self._session.execute(sa.select(_a).where(_a.c.message_pk.in_(chunk)))]
        return sorted(found, key=lambda a: (a.message_pk, a.seq))

    def messages_with_attachments(self, content_hashes: Iterable[str]) -> dict[str, set[int]]:
        """Attachment content hash → the messages that kept a file under it (skipped ones kept none)."""
        found: dict[str, set[int]] = {}
        for chunk in _chunks(content_hashes):
            for content_hash, pk in self._session.execute(
                sa.select(_a.c.content_hash, _a.c.message_pk).where(_a.c.content_hash.in_(chunk) & (_a.c.skipped == ""))
            ):
                found.setdefault(content_hash, set()).add(pk)
        return found

    def files_awaiting_upload(self, content_hashes: Iterable[str]) -> set[str]:
        """Which of these files an invoice still has to receive (a push evidence item not done): keep them."""
        found: set[str] = set()
        for chunk in _chunks(content_hashes):
            found.update(self._session.execute(
                sa.select(push_evidence.c.item).where(push_evidence.c.item.in_(chunk)
                                                      & (push_evidence.c.status != "done"))).scalars())
        return found

    def match_evidence(self, message_pks: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Message row → the evidence its match gave its work order (unmatched messages left out)."""
        found: dict[int, dict[str, Any]] = {}
        for chunk in _chunks(message_pks):
            found.update(self._session.execute(
                sa.select(_x.c.message_pk, _x.c.evidence).where(_x.c.message_pk.in_(chunk))).all())
        return found

    def evidence_of_work_orders(self, work_order_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The mail evidence of each work order, in the order intake merges it (``SqlMessages.evidence_for``)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for chunk in _chunks(work_order_ids):
            for work_order_id, evidence in self._session.execute(
                sa.select(_x.c.work_order_id, _x.c.evidence).where(_x.c.work_order_id.in_(chunk))
                .order_by(_x.c.message_pk)
            ):
                found.setdefault(work_order_id, []).append(evidence)
        return found

    def rewrite_message(self, pk: int, *, subject: str, from_address: str) -> None:
        self._session.execute(sa.update(_m).where(_m.c.id == pk)
                              .values(subject=subject, from_address=from_address[:320]))

    def rewrite_match_evidence(self, pk: int, evidence: dict[str, Any]) -> None:
        self._session.execute(sa.update(_x).where(_x.c.message_pk == pk).values(evidence=evidence))

    def rewrite_attachment_name(self, message_pk: int, seq: int, file_name: str) -> None:
        self._session.execute(sa.update(_a).where((_a.c.message_pk == message_pk) & (_a.c.seq == seq))
                              .values(file_name=file_name[:255]))

    # -- notifications ------------------------------------------------------------------------------------------

    def _notices(self, condition: sa.ColumnElement[bool]) -> list[KeptNotice]:
        k = cases.c
        rows = self._session.execute(
            sa.select(_n.c.id, _n.c.company, _n.c.kind, _n.c.status, _n.c.recipient, _n.c.subject, _n.c.body,
                      _n.c.last_error, _n.c.case_id, k.status.label("case_status"),
                      k.work_order_id.label("case_work_order_id"), k.subject.label("case_subject"))
            .outerjoin(cases, k.id == _n.c.case_id).where(condition).order_by(_n.c.id))
        return [KeptNotice(**row._mapping) for row in rows]

    def notices_done_before(self, *, company: str, before: datetime) -> list[KeptNotice]:
        """The company's notifications done with before ``before`` (sent then, or failed for good and recorded
        then) whose text is not cleared yet: a cleared row has an empty recipient, subject, body and error."""
        done = (((_n.c.status == NoticeStatus.sent.value) & (_n.c.sent_at < before))
                | ((_n.c.status == NoticeStatus.failed.value) & (_n.c.created_at < before)))
        uncleared = (_n.c.recipient != "") | (_n.c.subject != "") | (_n.c.body != "") | (_n.c.last_error != "")
        return self._notices((_n.c.company == company) & done & uncleared)

    def notices_to_or_naming(self, *, addresses: Sequence[str], needles: Sequence[str],
                             company: str | None) -> list[KeptNotice]:
        """Notifications sent to one of ``addresses`` (any case), or whose recipient, subject, body or error
        contains a needle (any case); of every status."""
        condition = sa.false()
        if addresses:
            condition = condition | sa.func.lower(_n.c.recipient).in_([a.lower() for a in addresses])
        if needles:
            wanted = _needles(needles)
            condition = condition | sa.or_(*(_contains_any(column, wanted) for column in (
                _n.c.recipient, _n.c.subject, _n.c.body, _n.c.last_error)))
        if company is not None:
            condition = condition & (_n.c.company == company)
        return self._notices(condition)

    def rewrite_notice(self, notice_id: int, *, recipient: str, subject: str, body: str, last_error: str) -> None:
        """The notification's words only: its key (what keeps it sent once), kind, status and times stay."""
        self._session.execute(sa.update(_n).where(_n.c.id == notice_id).values(
            recipient=recipient[:2048], subject=subject[:255], body=body, last_error=last_error[:512]))

    # -- work orders, decisions, invoices' copies ---------------------------------------------------------------

    def work_orders_containing(self, needles: Sequence[str], *, company: str | None) -> set[str]:
        """Work orders one version of which contains one of ``needles`` (any case) anywhere in its snapshot."""
        if not needles:
            return set()
        query = sa.select(_v.c.work_order_id).where(_contains_any(_v.c.snapshot, _needles(needles))).distinct()
        if company is not None:
            query = query.where(_v.c.company == company)
        return set(self._session.execute(query).scalars())

    def versions_of(self, work_order_id: str) -> list[tuple[int, dict[str, Any], str]]:
        """(version, snapshot, content hash) of every version, oldest first."""
        return [tuple(row) for row in self._session.execute(
            sa.select(_v.c.version, _v.c.snapshot, _v.c.content_hash).where(_v.c.work_order_id == work_order_id)
            .order_by(_v.c.version))]

    def rewrite_version(self, work_order_id: str, version: int, *, snapshot: dict[str, Any], content_hash: str) -> None:
        self._session.execute(
            sa.update(_v).where((_v.c.work_order_id == work_order_id) & (_v.c.version == version))
            .values(snapshot=snapshot, content_hash=content_hash))

    def decisions_of(self, work_order_ids: Iterable[str]) -> list[tuple[int, str, Any]]:
        """(row id, reason, evidence) of every rule decision about these work orders."""
        d = rule_decisions.c
        found: list[tuple[int, str, Any]] = []
        for chunk in _chunks(work_order_ids):
            found += [tuple(row) for row in self._session.execute(
                sa.select(d.id, d.reason, d.evidence).where(d.work_order_id.in_(chunk)))]
        return found

    def rewrite_decision(self, decision_id: int, *, reason: str, evidence: Any) -> None:
        self._session.execute(sa.update(rule_decisions).where(rule_decisions.c.id == decision_id)
                              .values(reason=reason, evidence=evidence))

    def drafts_of(self, work_order_ids: Iterable[str]) -> list[tuple[str, str, dict[str, Any]]]:
        """(idempotency key, status, draft) of every push record of these work orders."""
        p = push_records.c
        found: list[tuple[str, str, dict[str, Any]]] = []
        for chunk in _chunks(work_order_ids):
            found += [tuple(row) for row in self._session.execute(
                sa.select(p.idempotency_key, p.status, p.draft).where(p.work_order_id.in_(chunk)))]
        return found

    def rewrite_draft(self, idempotency_key: str, draft: dict[str, Any]) -> None:
        """Closeout's copy of a sent draft only: the record's doc number, amount, status and ledger id stay."""
        self._session.execute(sa.update(push_records).where(push_records.c.idempotency_key == idempotency_key)
                              .values(draft=draft))

    def evidence_targets(self, idempotency_keys: Iterable[str]) -> list[tuple[str, str, str]]:
        """(idempotency key, item, target) of the files and e-mail sent with these push records."""
        e = push_evidence.c
        found: list[tuple[str, str, str]] = []
        for chunk in _chunks(idempotency_keys):
            found += [tuple(row) for row in self._session.execute(
                sa.select(e.idempotency_key, e.item, e.target).where(e.idempotency_key.in_(chunk)))]
        return found

    def rewrite_evidence_target(self, idempotency_key: str, item: str, target: str) -> None:
        e = push_evidence.c
        self._session.execute(sa.update(push_evidence).where((e.idempotency_key == idempotency_key) & (e.item == item))
                              .values(target=target[:320]))

    def corrections_of(self, work_order_ids: Iterable[str]) -> list[tuple[str, str, Any, Any]]:
        """(key, status, draft, target) of every correction step of these work orders."""
        c = corrections.c
        found: list[tuple[str, str, Any, Any]] = []
        for chunk in _chunks(work_order_ids):
            found += [tuple(row) for row in self._session.execute(
                sa.select(c.key, c.status, c.draft, c.target).where(c.work_order_id.in_(chunk)))]
        return found

    def rewrite_correction(self, key: str, *, draft: Any, target: Any) -> None:
        self._session.execute(sa.update(corrections).where(corrections.c.key == key).values(draft=draft, target=target))

    # -- cases --------------------------------------------------------------------------------------------------

    def _cases(self, condition: sa.ColumnElement[bool]) -> list[CaseText]:
        k = cases.c
        rows = self._session.execute(
            sa.select(k.id, k.company, k.subject, k.status, k.work_order_id, k.summary, k.evidence).where(condition)
            .order_by(k.id))
        return [CaseText(id=row.id, company=row.company, subject=row.subject, status=row.status,
                         work_order_id=row.work_order_id, summary=row.summary, evidence=row.evidence) for row in rows]

    def cases_about(self, *, work_order_ids: Iterable[str] = (), subjects: Iterable[str] = ()) -> list[CaseText]:
        """Cases of these work orders (by their column or their subject), and cases with these subjects."""
        found: dict[int, CaseText] = {}
        for chunk in _chunks(work_order_ids):
            found.update((case.id, case) for case in self._cases(cases.c.work_order_id.in_(chunk)
                                                                 | cases.c.subject.in_(chunk)))
        for chunk in _chunks(subjects):
            found.update((case.id, case) for case in self._cases(cases.c.subject.in_(chunk)))
        return [found[key] for key in sorted(found)]

    def cases_containing(self, needles: Sequence[str], *, company: str | None) -> list[CaseText]:
        """Cases whose summary or evidence contains one of ``needles`` (any case)."""
        if not needles:
            return []
        wanted = _needles(needles)
        condition = _contains_any(cases.c.summary, wanted) | _contains_any(cases.c.evidence, wanted)
        if company is not None:
            condition = condition & (cases.c.company == company)
        return self._cases(condition)

    def rewrite_case(self, case_id: int, *, summary: str, evidence: dict[str, Any]) -> None:
        """The case's words only: its status, subject and assignee stay as they are."""
        self._session.execute(sa.update(cases).where(cases.c.id == case_id).values(summary=summary, evidence=evidence))

    def history_of(self, case_ids: Iterable[int]) -> list[tuple[int, int, str, Any, Any]]:
        """(case id, seq, note, before, after) of every history entry of these cases: read only, since the history
        is append-only in the database itself (migration 0003's triggers refuse UPDATE and DELETE)."""
        h = case_history.c
        found: list[tuple[int, int, str, Any, Any]] = []
        for chunk in _chunks(case_ids):
            found += [tuple(row) for row in self._session.execute(
                sa.select(h.case_id, h.seq, h.note, h.before, h.after).where(h.case_id.in_(chunk))
                .order_by(h.case_id, h.seq))]
        return found
