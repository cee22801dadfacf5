"""SqlCutovers: each `closeout cutover` a company recorded, read back as the one Cutover its rules see."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.tables import cutovers
from workorders.rules import Cutover

_c = cutovers


class SqlCutovers:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def record(self, *, company: str, invoiced_before: datetime | None, jobs: Sequence[str], actor: str) -> None:
        """Add one cutover: a date, a list of jobs, or both."""
        self._session.execute(sa.insert(_c).values(
            company=company, invoiced_before=invoiced_before, jobs=sorted(set(jobs)), recorded_by=actor,
            recorded_at=self._clock()))

    def for_company(self, company: str) -> Cutover:
        """Every cutover of the company as one (``Cutover.merged``)."""
        rows = self._session.execute(
            sa.select(_c).where(_c.c.company == company).order_by(_c.c.id)).mappings().all()
        return Cutover.merged([(r["invoiced_before"], r["jobs"], r["recorded_by"], r["recorded_at"]) for r in rows])

