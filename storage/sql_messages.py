"""Mail in the store: messages (deduplicated on Message-ID plus content hash), attachments, matches and polls."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.tables import mail_attachments, mail_matches, mail_messages, mail_polls

_m, _a, _x, _p = mail_messages, mail_attachments, mail_matches, mail_polls
_ADD_MESSAGE = sa.insert(mail_messages).returning(mail_messages.c.id)
_ADD_MESSAGES = sa.insert(mail_messages).returning(mail_messages.c.id, sort_by_parameter_order=True)


@dataclass(frozen=True)
class StoredMessage:
    pk: int
    company: str
    mailbox: str
    message_id: str
    subject: str
    from_address: str
    status: str
    raw_path: str
    work_order_id: str | None = None
    job_number: str = ""
    method: str = ""
    confidence: float = 0.0
    explanation: str = ""
    content_hash: str = ""


@dataclass(frozen=True)
class MessagePlacement:
    """Where one stored message went, as the audit reads it: its row and the work order it is attached to."""

    company: str
    message_id: str
    content_hash: str
    status: str
    work_order_id: str | None


class SqlMessages:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def find(self, *, company: str, message_id: str, content_hash: str) -> int | None:
        """The row of a message already stored (the same Message-ID with the same content), if any."""
        return self._session.execute(
            sa.select(_m.c.id).where((_m.c.company == company) & (_m.c.message_id == message_id)
                                     & (_m.c.content_hash == content_hash))
        ).scalar_one_or_none()

    def find_many(self, *, company: str, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (Message-ID, content hash) pairs of ``keys`` are stored already: ``find`` for a batch, one read."""
        wanted = set(keys)
        return self.stored_pairs(company=company, message_ids=[message_id for message_id, _ in wanted]) & wanted

    def stored_pairs(self, *, company: str, message_ids: Sequence[str]) -> set[tuple[str, str]]:
        """Every (Message-ID, content hash) stored under these Message-IDs: which messages are known, and which
        ids different messages share (each of those is told apart by its content hash)."""
        found: set[tuple[str, str]] = set()
        ids = sorted({message_id[:500] for message_id in message_ids})
        for start in range(0, len(ids), 500):
            found.update((row.message_id, row.content_hash) for row in self._session.execute(
                sa.select(_m.c.message_id, _m.c.content_hash)
                .where((_m.c.company == company) & _m.c.message_id.in_(ids[start:start + 500]))))
        return found

    def add(self, *, company: str, mailbox: str, folder: str, uid_validity: int, uid: int, message_id: str,
            content_hash: str, subject: str, from_address: str, sent_at: datetime | None, status: str,
            raw_path: str, problems: Sequence[str]) -> int:
        # Values as parameters, not ``.values()``: the statement is built and compiled once, not per message.
        return self._session.execute(_ADD_MESSAGE, self._message_values(
            company=company, mailbox=mailbox, folder=folder, uid_validity=uid_validity, uid=uid, message_id=message_id,
            content_hash=content_hash, subject=subject, from_address=from_address, sent_at=sent_at, status=status,
            raw_path=raw_path, problems=problems)).scalar_one()

    def add_many(self, messages: Sequence[dict[str, Any]]) -> list[int]:
        """``add`` for a batch (each item ``add``'s arguments) in one statement: the new rows' ids, in order."""
        if not messages:
            return []
        values = [self._message_values(**message) for message in messages]
        return list(self._session.execute(_ADD_MESSAGES, values).scalars())

    def _message_values(self, *, message_id: str, from_address: str, problems: Sequence[str],
                        **values: Any) -> dict[str, Any]:
        return dict(values, message_id=message_id[:500], from_address=from_address[:320], problems=list(problems),
                    received_at=self._clock())

    def add_attachments(self, message_pk: int, rows: Iterable[dict[str, Any]]) -> None:
        self.add_attachments_many([(message_pk, rows)])

    def add_attachments_many(self, items: Iterable[tuple[int, Iterable[dict[str, Any]]]]) -> None:
        """The attachments of several messages, (message row id, its attachment rows in order), in one statement."""
        values = [{"message_pk": message_pk, "seq": seq, **row}
                  for message_pk, rows in items for seq, row in enumerate(rows, start=1)]
        if values:
            self._session.execute(sa.insert(_a), values)

    def add_match(self, message_pk: int, *, work_order_id: str, job_number: str, method: str, confidence: float,
                  explanation: str, evidence: dict[str, Any]) -> None:
        self.add_matches([(message_pk, dict(work_order_id=work_order_id, job_number=job_number, method=method,
                                            confidence=confidence, explanation=explanation, evidence=evidence))])

    def add_matches(self, items: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Several matches, (message row id, ``add_match``'s keyword arguments), in one statement."""
        values = [dict(row, message_pk=message_pk, matched_at=self._clock()) for message_pk, row in items]
        if values:
            self._session.execute(sa.insert(_x), values)

    def thread_hits(self, *, company: str, message_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Message-ID → (work order id, job number) for the matched messages among ``message_ids``."""
        found: dict[str, tuple[str, str]] = {}
        ids = list(message_ids)
        for start in range(0, len(ids), 500):
            for row in self._session.execute(
                sa.select(_m.c.message_id, _x.c.work_order_id, _x.c.job_number)
                .join(_x, _x.c.message_pk == _m.c.id)
                .where((_m.c.company == company) & _m.c.message_id.in_(ids[start:start + 500]))
                .order_by(_x.c.message_pk)
            ):
                found[row.message_id] = (row.work_order_id, row.job_number)
        return found

    def evidence_for(self, work_order_id: str) -> list[dict[str, Any]]:
        """The evidence of every message matched to this work order, in the order they were matched."""
        return list(self._session.execute(
            sa.select(_x.c.evidence).where(_x.c.work_order_id == work_order_id).order_by(_x.c.message_pk)
        ).scalars())

    def evidence_for_many(self, work_order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """``evidence_for`` of several work orders in one read; an order without matched mail is left out."""
        found: dict[str, list[dict[str, Any]]] = {}
        ids = sorted(set(work_order_ids))
        for start in range(0, len(ids), 500):
            for work_order_id, evidence in self._session.execute(
                sa.select(_x.c.work_order_id, _x.c.evidence).where(_x.c.work_order_id.in_(ids[start:start + 500]))
                .order_by(_x.c.message_pk)
            ):
                found.setdefault(work_order_id, []).append(evidence)
        return found

    def list(self, *, company: str | None = None, work_order_id: str | None = None,
             statuses: Sequence[str] = (), pks: Sequence[int] = ()) -> list[StoredMessage]:
        query = sa.select(_m, _x.c.work_order_id, _x.c.job_number, _x.c.method, _x.c.confidence, _x.c.explanation).outerjoin(
            _x, _x.c.message_pk == _m.c.id)
        if company is not None:
            query = query.where(_m.c.company == company)
        if work_order_id is not None:
            query = query.where(_x.c.work_order_id == work_order_id)
        if statuses:
            query = query.where(_m.c.status.in_(list(statuses)))
        if pks:
            query = query.where(_m.c.id.in_(list(pks)))
        return [StoredMessage(pk=r.id, company=r.company, mailbox=r.mailbox, message_id=r.message_id,
                              subject=r.subject, from_address=r.from_address, status=r.status, raw_path=r.raw_path,
                              work_order_id=r.work_order_id, job_number=r.job_number or "", method=r.method or "", confidence=r.confidence or 0.0,
                              explanation=r.explanation or "", content_hash=r.content_hash)
                for r in self._session.execute(query.order_by(_m.c.id))]

    def get(self, *, company: str, message_id: str, content_hash: str | None = None) -> StoredMessage | None:
        """The first stored message with this Message-ID in the company (with ``content_hash``, the one with
        that content: different messages may share an id), with its match if it has one."""
        query = sa.select(_m.c.id).where((_m.c.company == company) & (_m.c.message_id == message_id[:500]))
        if content_hash is not None:
            query = query.where(_m.c.content_hash == content_hash)
        pk = self._session.execute(query.order_by(_m.c.id).limit(1)).scalar_one_or_none()
        return None if pk is None else self.list(company=company, pks=(pk,))[0]

    def set_status(self, message_pk: int, status: str) -> None:
        self._session.execute(sa.update(_m).where(_m.c.id == message_pk).values(status=status))

    def attachments(self, message_pk: int) -> list[dict[str, Any]]:
        rows = self._session.execute(sa.select(_a).where(_a.c.message_pk == message_pk).order_by(_a.c.seq))
        return [dict(row._mapping) for row in rows]

    def record_poll(self, *, company: str, mailbox: str, outcome: str, detail: str = "", fetched: int = 0) -> None:
        self._session.execute(sa.insert(_p).values(company=company, mailbox=mailbox, outcome=outcome,
                                                   detail=detail, fetched=fetched, at=self._clock()))

    def last_poll(self, *, company: str, mailbox: str, outcome: str | None = None) -> datetime | None:
        query = sa.select(sa.func.max(_p.c.at)).where((_p.c.company == company) & (_p.c.mailbox == mailbox))
        if outcome is not None:
            query = query.where(_p.c.outcome == outcome)
        value = self._session.execute(query).scalar_one_or_none()
        return value

    def first_poll(self, *, company: str, mailbox: str) -> datetime | None:
        return self._session.execute(sa.select(sa.func.min(_p.c.at)).where(
            (_p.c.company == company) & (_p.c.mailbox == mailbox))).scalar_one_or_none()

    def placements(self) -> list[MessagePlacement]:
        """Every message row with the work order its match names (None when unmatched), for the audit."""
        rows = self._session.execute(
            sa.select(_m.c.company, _m.c.message_id, _m.c.content_hash, _m.c.status, _x.c.work_order_id)
            .outerjoin(_x, _x.c.message_pk == _m.c.id)
        ).all()
        return [MessagePlacement(*row) for row in rows]
