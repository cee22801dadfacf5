"""SqlNotifications: each notification under its unique key, claimed before it is sent, so it goes out once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from notifications.messages import Channel, Notice, NoticeKind, NoticeRecord, NoticeStatus, clip_error
from storage.tables import insert_for, notifications

_n = notifications


class SqlNotifications:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def record(self, notices: Sequence[Notice]) -> list[str]:
        """Add each notice not recorded yet (``ON CONFLICT DO NOTHING`` on its key); the keys that went in.

        One statement per notice decides, so two processes recording the same one at once record it once.
        """
        now = self._clock()
        added: list[str] = []
        for notice in notices:
            inserted = self._session.execute(
                insert_for(self._session, _n).values(
                    key=notice.key, kind=notice.kind.value, company=notice.company, case_id=notice.case_id,
                    recipient=notice.recipient, channel=notice.channel.value, subject=notice.subject,
                    body=notice.body, status=NoticeStatus.pending.value, attempts=0, last_error="",
                    created_at=now, next_attempt_at=now, sent_at=None)
                .on_conflict_do_nothing(index_elements=["key"]).returning(_n.c.key))
            if inserted.first() is not None:
                added.append(notice.key)
        return added

    def due(self, *, limit: int = 100) -> list[NoticeRecord]:
        """Pending notices whose next attempt is now or earlier, oldest first."""
        rows = self._session.execute(
            sa.select(_n).where((_n.c.status == NoticeStatus.pending.value) & (_n.c.next_attempt_at <= self._clock()))
            .order_by(_n.c.id).limit(limit)).mappings()
        return [_record(row) for row in rows]

    def claim(self, key: str, *, lease: timedelta) -> NoticeRecord | None:
        """Count an attempt and hold the notice for ``lease``; None when another sender holds it or it is done.

        The guarded UPDATE is the lock: of two senders only one sees its row change. A sender that dies after
        sending leaves the lease to run out, and the notice is sent again then (at least once, never lost).
        """
        now = self._clock()
        changed = self._session.execute(
            sa.update(_n).where((_n.c.key == key) & (_n.c.status == NoticeStatus.pending.value)
                                & (_n.c.next_attempt_at <= now))
            .values(attempts=_n.c.attempts + 1, next_attempt_at=now + lease))
        if changed.rowcount != 1:
            return None
        return self.get(key)

    def mark_sent(self, key: str) -> None:
        self._session.execute(sa.update(_n).where(_n.c.key == key).values(
            status=NoticeStatus.sent.value, sent_at=self._clock(), next_attempt_at=None, last_error=""))

    def mark_failed(self, key: str, *, error: str, retry_at: datetime | None) -> None:
        """Keep the error; try again at ``retry_at``, or (None) give up: the notice stays, ``failed``."""
        values: dict[str, Any] = {"last_error": clip_error(error), "next_attempt_at": retry_at}
        if retry_at is None:
            values["status"] = NoticeStatus.failed.value
        self._session.execute(sa.update(_n).where(_n.c.key == key).values(**values))

    def get(self, key: str) -> NoticeRecord | None:
        row = self._session.execute(sa.select(_n).where(_n.c.key == key)).mappings().first()
        return None if row is None else _record(row)

    def for_case(self, case_id: int) -> list[NoticeRecord]:
        rows = self._session.execute(sa.select(_n).where(_n.c.case_id == case_id).order_by(_n.c.id)).mappings()
        return [_record(row) for row in rows]

    def all(self, *, status: NoticeStatus | None = None, limit: int = 1000) -> list[NoticeRecord]:
        query = sa.select(_n).order_by(_n.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(_n.c.status == status.value)
        return [_record(row) for row in self._session.execute(query).mappings()]


def _record(row: Mapping[str, Any]) -> NoticeRecord:
    notice = Notice(key=row["key"], kind=NoticeKind(row["kind"]), company=row["company"], recipient=row["recipient"],
                    channel=Channel(row["channel"]), subject=row["subject"], body=row["body"],
                    case_id=row["case_id"])
    return NoticeRecord(notice=notice, status=NoticeStatus(row["status"]), attempts=row["attempts"],
                        last_error=row["last_error"], created_at=row["created_at"],
                        next_attempt_at=row["next_attempt_at"], sent_at=row["sent_at"])
