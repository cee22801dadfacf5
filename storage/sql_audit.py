"""SqlAuditLog: the global audit trail, append-only: product events plus every case's history, newest first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exceptions_queue.desk import AuditEntry
from storage.tables import audit_events, case_history, cases


class SqlAuditLog:
    """Only ``append`` writes; nothing here updates or deletes, and the product offers no way to."""

    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def append(self, *, actor: str, action: str, subject: str = "", note: str = "",
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        self._session.execute(sa.insert(audit_events).values(
            at=self._clock(), actor=actor, action=action, subject=subject, note=note,
            before=before or {}, after=after or {},
        ))

    def recent(self, *, limit: int = 200) -> list[AuditEntry]:
        events = self._session.execute(
            sa.select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
        ).mappings()
        entries = [AuditEntry(at=r["at"], actor=r["actor"], action=r["action"], note=r["note"],
                              subject=r["subject"], before=r["before"], after=r["after"]) for r in events]
        history = self._session.execute(
            sa.select(case_history, cases.c.subject)
            .join(cases, cases.c.id == case_history.c.case_id)
            .order_by(case_history.c.at.desc()).limit(limit)
        ).mappings()
        entries += [AuditEntry(at=r["at"], actor=r["actor"], action=r["action"], note=r["note"],
                               case_id=r["case_id"], subject=r["subject"], before=r["before"], after=r["after"])
                    for r in history]
        return sorted(entries, key=lambda e: e.at, reverse=True)[:limit]
