"""InMemoryCases: the case repository in a dict, for unit tests and previews that must store nothing."""

from __future__ import annotations

from collections.abc import Sequence

from exceptions_queue.cases import Case, CaseKind, CaseStatus, HistoryEntry


class InMemoryCases:
    def __init__(self) -> None:
        self._cases: dict[int, Case] = {}

    def add(self, case: Case) -> Case:
        stored = case.model_copy(update={"id": len(self._cases) + 1})
        self._cases[stored.id] = stored
        return stored

    def get(self, case_id: int) -> Case | None:
        return self._cases.get(case_id)

    def find_open(self, *, kind: CaseKind, subject: str) -> Case | None:
        for case in self._cases.values():
            if case.kind == kind and case.subject == subject and case.is_open:
                return case
        return None

    def update(self, case: Case, entry: HistoryEntry) -> Case:
        stored = case.model_copy(update={"history": self._cases[case.id].history + (entry,)})
        self._cases[case.id] = stored
        return stored

    def list(
        self,
        *,
        statuses: Sequence[CaseStatus] = (),
        kinds: Sequence[CaseKind] = (),
        company: str | None = None,
        work_order_id: str | None = None,
        limit: int = 500,
    ) -> list[Case]:
        found = [
            case
            for case in sorted(self._cases.values(), key=lambda c: c.id, reverse=True)
            if (not statuses or case.status in statuses)
            and (not kinds or case.kind in kinds)
            and (company is None or case.company == company)
            and (work_order_id is None or case.work_order_id == work_order_id)
        ]
        return found[:limit]

    def count_by_status(self) -> dict[CaseStatus, int]:
        counts = {status: 0 for status in CaseStatus}
        for case in self._cases.values():
            counts[case.status] += 1
        return counts
