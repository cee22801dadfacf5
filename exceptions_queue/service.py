"""The queue service: opening cases from anomalies and recording what people decide about them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from exceptions_queue.cases import SEVERITY_BY_KIND, Case, CaseStatus, HistoryEntry
from exceptions_queue.repository import CaseRepository
from workorders.anomalies import Anomaly

SYSTEM_ACTOR = "closeout"


class CaseNotFoundError(LookupError):
    """No case has this id."""


class CaseTransitionError(ValueError):
    """The decision does not apply to a case in its current status."""


def _now() -> datetime:
    return datetime.now(UTC)


class CaseQueue:
    """Opens, updates and closes cases; every change appends one history entry."""

    def __init__(self, repository: CaseRepository, *, clock: Callable[[], datetime] = _now) -> None:
        self._cases = repository
        self._clock = clock

    def open_case(self, anomaly: Anomaly, *, actor: str = SYSTEM_ACTOR) -> tuple[Case, bool]:
        """Open a case for the anomaly, or return the open one about the same subject (second item False).

        A run that meets the same problem again must not bury the coordinator in copies.
        """
        existing = self._cases.find_open(kind=anomaly.code, subject=anomaly.subject)
        if existing is not None:
            return existing, False
        now = self._clock()
        case = Case(
            kind=anomaly.code,
            severity=SEVERITY_BY_KIND[anomaly.code],
            company=anomaly.company,
            subject=anomaly.subject,
            summary=anomaly.summary,
            work_order_id=anomaly.work_order_id,
            work_order_version=anomaly.work_order_version,
            evidence=anomaly.evidence,
            suggested_actions=anomaly.suggested_actions,
            opened_at=now,
            updated_at=now,
            history=(HistoryEntry(at=now, actor=actor, action="opened", note=anomaly.summary),),
        )
        return self._cases.add(case), True

    def get(self, case_id: int) -> Case:
        case = self._cases.get(case_id)
        if case is None:
            raise CaseNotFoundError(f"no case #{case_id}")
        return case

    def resolve(self, case_id: int, *, actor: str, note: str) -> Case:
        return self._move(case_id, CaseStatus.resolved, actor=actor, action="resolved", note=note)

    def ignore(self, case_id: int, *, actor: str, note: str) -> Case:
        if not note.strip():
            raise CaseTransitionError("ignoring a case needs a reason")
        return self._move(case_id, CaseStatus.ignored, actor=actor, action="ignored", note=note)

    def reopen(self, case_id: int, *, actor: str, note: str = "") -> Case:
        case = self.get(case_id)
        if case.is_open:
            raise CaseTransitionError(f"case #{case_id} is already {case.status}")
        return self._move(case_id, CaseStatus.open, actor=actor, action="reopened", note=note)

    def assign(self, case_id: int, *, actor: str, assignee: str) -> Case:
        case = self.get(case_id)
        status = CaseStatus.in_progress if case.status is CaseStatus.open else case.status
        return self._change(case, {"assignee": assignee, "status": status}, actor=actor, action="assigned", note=assignee)

    def close_if_cleared(self, case: Case, *, note: str) -> Case:
        """Resolve a case whose cause has gone away, saying so in its history."""
        if not case.is_open:
            return case
        return self._change(case, {"status": CaseStatus.resolved}, actor=SYSTEM_ACTOR, action="auto_resolved", note=note)

    def _move(self, case_id: int, status: CaseStatus, *, actor: str, action: str, note: str) -> Case:
        case = self.get(case_id)
        if case.status is status:
            raise CaseTransitionError(f"case #{case_id} is already {status}")
        return self._change(case, {"status": status}, actor=actor, action=action, note=note)

    def _change(self, case: Case, fields: dict, *, actor: str, action: str, note: str) -> Case:
        now = self._clock()
        before = {key: getattr(case, key) for key in fields}
        updated = case.model_copy(update={**fields, "updated_at": now})
        entry = HistoryEntry(
            at=now,
            actor=actor,
            action=action,
            note=note,
            before={k: str(v) if v is not None else None for k, v in before.items()},
            after={k: str(v) if v is not None else None for k, v in fields.items()},
        )
        return self._cases.update(updated, entry)
