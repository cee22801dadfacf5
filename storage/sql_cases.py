"""SqlCases: the exception queue's cases in two tables, the case as it stands and its append-only history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exceptions_queue.cases import Case, CaseKind, CaseStatus, HistoryEntry, Severity
from storage.tables import case_history, cases

_c = cases
_h = case_history
OPEN_STATUSES = (CaseStatus.open.value, CaseStatus.in_progress.value)
_FIND_OPEN = (  # built once: prepare asks it for every blocked order
    sa.select(_c)
    .where((_c.c.kind == sa.bindparam("kind")) & (_c.c.subject == sa.bindparam("subject"))
           & _c.c.status.in_(OPEN_STATUSES))
    .order_by(_c.c.id)
    .limit(1)
)


def _case_values(case: Case) -> dict[str, Any]:
    """The columns a case's change may touch; its id, opening time and history are never rewritten."""
    document = case.model_dump(mode="json", include={"evidence"})
    return {
        "kind": case.kind.value,
        "severity": case.severity.value,
        "status": case.status.value,
        "company": case.company,
        "subject": case.subject,
        "summary": case.summary,
        "work_order_id": case.work_order_id,
        "work_order_version": case.work_order_version,
        "evidence": document["evidence"],
        "suggested_actions": list(case.suggested_actions),
        "assignee": case.assignee,
        "tags": list(case.tags),
        "updated_at": case.updated_at,
    }


def _history_rows(case_id: int, entries: Sequence[HistoryEntry], *, first_seq: int) -> list[dict[str, Any]]:
    """The history rows of ``entries`` of one case, numbered from ``first_seq``."""
    rows = []
    for seq, entry in enumerate(entries, start=first_seq):
        document = entry.model_dump(mode="json", include={"before", "after"})
        rows.append({"case_id": case_id, "seq": seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
                     "note": entry.note, "before": document["before"], "after": document["after"]})
    return rows


def _entry(row: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        note=row["note"],
        before=row["before"],
        after=row["after"],
    )


def _case(row: Mapping[str, Any], history: Iterable[HistoryEntry]) -> Case:
    return Case(
        id=row["id"],
        kind=CaseKind(row["kind"]),
        severity=Severity(row["severity"]),
        status=CaseStatus(row["status"]),
        company=row["company"],
        subject=row["subject"],
        summary=row["summary"],
        work_order_id=row["work_order_id"],
        work_order_version=row["work_order_version"],
        evidence=row["evidence"],
        suggested_actions=tuple(row["suggested_actions"]),
        assignee=row["assignee"],
        tags=tuple(row["tags"]),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        history=tuple(history),
    )


class SqlCases:
    """The ``CaseRepository`` on SQL; behaves as ``tests/fakes.py``'s ``InMemoryCases`` does (one contract suite runs both)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, case: Case) -> Case:
        """Store a new case and its first history entries; any ``id`` it carries is replaced by the store's."""
        case_id = self._session.execute(  # values as parameters: one compiled statement for every case
            sa.insert(_c).returning(_c.c.id), {**_case_values(case), "opened_at": case.opened_at}
        ).scalar_one()
        self._append(case_id, case.history, first_seq=1)
        return case.model_copy(update={"id": case_id})

    def add_many(self, cases: Sequence[Case]) -> list[Case]:
        """``add`` for a batch of new cases: their rows in one statement, their first history entries in another.

        Ids are given in the order of ``cases``, as ``add`` one by one would give them.
        """
        if not cases:
            return []
        ids = self._session.execute(
            sa.insert(_c).returning(_c.c.id, sort_by_parameter_order=True),
            [{**_case_values(case), "opened_at": case.opened_at} for case in cases],
        ).scalars().all()
        history = [row for case_id, case in zip(ids, cases, strict=True)
                   for row in _history_rows(case_id, case.history, first_seq=1)]
        if history:
            self._session.execute(sa.insert(_h), history)
        return [case.model_copy(update={"id": case_id}) for case_id, case in zip(ids, cases, strict=True)]

    def get(self, case_id: int) -> Case | None:
        row = self._session.execute(sa.select(_c).where(_c.c.id == case_id)).mappings().one_or_none()
        return None if row is None else self._with_history(row)

    def find_open(self, *, kind: CaseKind, subject: str) -> Case | None:
        row = self._session.execute(
            _FIND_OPEN, {"kind": CaseKind(kind).value, "subject": subject}
        ).mappings().one_or_none()
        return None if row is None else self._with_history(row)

    def open_subjects(self, *, kind: CaseKind, subjects: Sequence[str]) -> set[str]:
        """Which of ``subjects`` have an open case of ``kind``: one read for a page instead of ``find_open`` each."""
        found: set[str] = set()
        wanted = sorted(set(subjects))
        for start in range(0, len(wanted), 500):
            found.update(self._session.execute(
                sa.select(_c.c.subject).where((_c.c.kind == CaseKind(kind).value) & _c.c.status.in_(OPEN_STATUSES)
                                              & _c.c.subject.in_(wanted[start:start + 500]))
            ).scalars())
        return found

    def work_orders_with_cases(self, work_order_ids: Sequence[str], *, kinds: Sequence[CaseKind],
                               statuses: Sequence[CaseStatus]) -> set[str]:
        """Which of ``work_order_ids`` have a case of one of ``kinds`` in one of ``statuses`` (one read)."""
        found: set[str] = set()
        wanted = sorted(set(work_order_ids))
        for start in range(0, len(wanted), 500):
            found.update(self._session.execute(
                sa.select(_c.c.work_order_id).where(_c.c.kind.in_([CaseKind(k).value for k in kinds])
                                                    & _c.c.status.in_([CaseStatus(s).value for s in statuses])
                                                    & _c.c.work_order_id.in_(wanted[start:start + 500]))
            ).scalars())
        return found

    def update(self, case: Case, entry: HistoryEntry) -> Case:
        """Save the case's fields and append ``entry``; the history it carries is ignored, the stored one kept.

        The case row is written first: on PostgreSQL its lock makes concurrent updates of one case take
        turns, so each appends after the other and history numbers never collide.
        """
        row = self._session.execute(
            sa.update(_c).where(_c.c.id == case.id).values(**_case_values(case)).returning(*_c.c)
        ).mappings().one_or_none()
        if row is None:
            raise LookupError(f"no case #{case.id}")
        last = self._session.execute(
            sa.select(sa.func.coalesce(sa.func.max(_h.c.seq), 0)).where(_h.c.case_id == case.id)
        ).scalar_one()
        self._append(row["id"], (entry,), first_seq=last + 1)
        return self._with_history(row)

    def list(
        self,
        *,
        statuses: Sequence[CaseStatus] = (),
        kinds: Sequence[CaseKind] = (),
        company: str | None = None,
        work_order_id: str | None = None,
        limit: int = 500,
    ) -> list[Case]:
        """Cases matching every given filter, newest first, without their history (``get`` one for that).

        Left out as the port says: an audit lists every case, and needs none of their histories.
        """
        query = sa.select(_c)
        if statuses:
            query = query.where(_c.c.status.in_([CaseStatus(s).value for s in statuses]))
        if kinds:
            query = query.where(_c.c.kind.in_([CaseKind(k).value for k in kinds]))
        if company is not None:
            query = query.where(_c.c.company == company)
        if work_order_id is not None:
            query = query.where(_c.c.work_order_id == work_order_id)
        rows = self._session.execute(query.order_by(_c.c.id.desc()).limit(limit)).mappings()
        return [_case(row, ()) for row in rows]

    def count_by_status(self) -> dict[CaseStatus, int]:
        """How many cases stand in each status; every status is present."""
        counts = {status: 0 for status in CaseStatus}
        for status, count in self._session.execute(sa.select(_c.c.status, sa.func.count()).group_by(_c.c.status)):
            counts[CaseStatus(status)] = count
        return counts

    def _append(self, case_id: int, entries: Sequence[HistoryEntry], *, first_seq: int) -> None:
        if entries:
            self._session.execute(sa.insert(_h), _history_rows(case_id, entries, first_seq=first_seq))

    def _with_history(self, row: Mapping[str, Any]) -> Case:
        history = self._session.execute(
            sa.select(_h).where(_h.c.case_id == row["id"]).order_by(_h.c.seq)
        ).mappings()
        return _case(row, (_entry(entry) for entry in history))
