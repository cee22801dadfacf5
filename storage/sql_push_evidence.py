"""Push evidence: the sign-offs and photos to attach to each pushed invoice and the e-mail to send, each done once.

One row per (push record, item): ``item`` is a file's content hash, or ``email``. ``pending → sending →
done | failed``; a row claimed again after ``sending`` (attempts > 1) may already have reached the ledger,
so the caller looks there before resending. Rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.tables import insert_for, push_evidence
from workorders.push import EMAIL, EVIDENCE_STATUSES, EvidenceItem

_e = push_evidence
def _item(row: Mapping[str, Any]) -> EvidenceItem:
    return EvidenceItem(**{name: row[name] for name in EvidenceItem.__dataclass_fields__})


class SqlPushEvidence:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def plan(self, key: str, *, company: str, ledger: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Record each item (``item``, ``kind``, ``target``, ``media_type``, ``size_bytes``) as pending, once."""
        now = self._clock()
        for values in items:
            self._session.execute(
                insert_for(self._session, _e)
                .values(idempotency_key=key, company=company, ledger=ledger, status="pending", ledger_ref=None,
                        attempts=0, last_error="", updated_at=now, **values)
                .on_conflict_do_nothing(index_elements=[_e.c.idempotency_key, _e.c.item])
            )

    def claim(self, *, company: str, ledger: str, limit: int = 100,
              retry_delay: timedelta = timedelta(0)) -> list[EvidenceItem]:
        """Move up to ``limit`` pending items to ``sending`` (attempts + 1). An item tried before waits
        ``retry_delay`` after its last try. A record's e-mail is claimed only once none of its files is
        pending or sending, so the invoice goes out with its attachments."""
        now = self._clock()
        other = _e.alias("other")
        files_waiting = sa.exists().where((other.c.idempotency_key == _e.c.idempotency_key) & (other.c.item != EMAIL)
                                          & other.c.status.in_(("pending", "sending")))
        chosen = (sa.select(_e.c.idempotency_key, _e.c.item)
                  .where((_e.c.status == "pending") & (_e.c.company == company) & (_e.c.ledger == ledger)
                         & ((_e.c.attempts == 0) | (_e.c.updated_at <= now - retry_delay))
                         & ((_e.c.item != EMAIL) | ~files_waiting))
                  .order_by(_e.c.updated_at, _e.c.idempotency_key, _e.c.item).limit(limit)
                  .with_for_update(skip_locked=True))
        rows = self._session.execute(
            sa.update(_e)
            .where(sa.tuple_(_e.c.idempotency_key, _e.c.item).in_(chosen) & (_e.c.status == "pending"))
            .values(status="sending", attempts=_e.c.attempts + 1, updated_at=now)
            .returning(*_e.c)
        ).mappings()
        return sorted((_item(row) for row in rows), key=lambda i: (i.idempotency_key, i.is_email, i.item))

    def finish(self, key: str, item: str, status: str, *, ledger_ref: str | None = None, error: str = "") -> None:
        """Set the outcome: ``done`` (with the ledger's id), ``failed`` (a case was opened), or ``pending`` again."""
        if status not in EVIDENCE_STATUSES:
            raise ValueError(f"unknown evidence status {status!r}")
        values: dict[str, Any] = {"status": status, "last_error": error[:2000], "updated_at": self._clock()}
        if ledger_ref is not None:
            values["ledger_ref"] = ledger_ref
        self._session.execute(sa.update(_e).where((_e.c.idempotency_key == key) & (_e.c.item == item)).values(**values))

    def release_stale(self, older_than: timedelta, *, ledger: str) -> int:
        """Items left ``sending`` longer than ``older_than`` (a worker died) become pending; attempts stay, so
        the next try looks in the ledger before sending again."""
        stale = (_e.c.status == "sending") & (_e.c.ledger == ledger) & (_e.c.updated_at < self._clock() - older_than)
        return self._session.execute(sa.update(_e).where(stale).values(status="pending")).rowcount

    def for_record(self, key: str) -> list[EvidenceItem]:
        rows = self._session.execute(sa.select(_e).where(_e.c.idempotency_key == key).order_by(_e.c.item)).mappings()
        return [_item(row) for row in rows]

    def counts(self, *, company: str | None = None) -> dict[tuple[str, str], int]:
        """``(attachment | email, status) → n``, for summaries and the audit."""
        what = sa.case((_e.c.item == EMAIL, "email"), else_="attachment")
        query = sa.select(what, _e.c.status, sa.func.count()).group_by(what, _e.c.status)
        if company is not None:
            query = query.where(_e.c.company == company)
        return {(kind, status): n for kind, status, n in self._session.execute(query)}
