"""The queue service: opening cases from anomalies and recording what people decide about them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from exceptions_queue.cases import SEVERITY_BY_KIND, Case, CaseKind, CaseStatus, HistoryEntry
from exceptions_queue.repository import CaseRepository
from workorders.anomalies import Anomaly

SYSTEM_ACTOR = "closeout"
OVERRIDE_APPROVED = "override_approved"
MAX_TAG_LENGTH = 40


def normalise_tag(tag: str) -> str:
    label = " ".join(tag.strip().lower().split())
    if not label or len(label) > MAX_TAG_LENGTH:
        raise CaseTransitionError(f"a tag is 1 to {MAX_TAG_LENGTH} characters")
    return label


def override_approved(case: Case) -> bool:
    """True when an override was approved since the case last (re)opened."""
    for entry in reversed(case.history):
        if entry.action == OVERRIDE_APPROVED:
            return True
        if entry.action in ("opened", "reopened", "unignored"):
            return False
    return False


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

    def start(self, case_id: int, *, actor: str) -> Case:
        """Mark an open case as being worked on, without assigning it to anyone else."""
        case = self.get(case_id)
        if case.status is not CaseStatus.open:
            raise CaseTransitionError(f"case #{case_id} is {case.status}, not open")
        return self._change(case, {"status": CaseStatus.in_progress}, actor=actor, action="started", note="")

    def unassign(self, case_id: int, *, actor: str) -> Case:
        case = self.get(case_id)
        return self._change(case, {"assignee": None}, actor=actor, action="unassigned", note="")

    def tag(self, case_id: int, *, actor: str, tag: str) -> Case:
        """Add a tag (lower-cased, trimmed); adding one the case already has changes nothing and logs nothing."""
        label = normalise_tag(tag)
        case = self.get(case_id)
        if label in case.tags:
            return case
        return self._change(case, {"tags": case.tags + (label,)}, actor=actor, action="tagged", note=label)

    def untag(self, case_id: int, *, actor: str, tag: str) -> Case:
        label = normalise_tag(tag)
        case = self.get(case_id)
        if label not in case.tags:
            return case
        kept = tuple(t for t in case.tags if t != label)
        return self._change(case, {"tags": kept}, actor=actor, action="untagged", note=label)

    def comment(self, case_id: int, *, actor: str, note: str) -> Case:
        if not note.strip():
            raise CaseTransitionError("a comment needs some text")
        return self._change(self.get(case_id), {}, actor=actor, action="commented", note=note.strip())

    def approve_override(self, case_id: int, *, actor: str, reason: str) -> Case:
        """Let a blocked job be invoiced despite its rules; the reason is kept, and replay honours it."""
        if not reason.strip():
            raise CaseTransitionError("approving an override needs a reason")
        case = self.get(case_id)
        if not case.is_open:
            raise CaseTransitionError(f"case #{case_id} is {case.status}: reopen it first")
        return self._change(case, {}, actor=actor, action=OVERRIDE_APPROVED, note=reason.strip())

    def undo_ignore(self, case_id: int, *, actor: str, note: str = "") -> Case:
        """Take back an ignore: the case is open again, and both steps stay in its history."""
        case = self.get(case_id)
        if case.status is not CaseStatus.ignored:
            raise CaseTransitionError(f"case #{case_id} is {case.status}, not ignored")
        return self._change(case, {"status": CaseStatus.open}, actor=actor, action="unignored", note=note)

    def record(self, case_id: int, *, actor: str, action: str, note: str = "",
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> Case:
        """Append a decision taken outside the case's own fields (a mapping added, a replay and its outcome)."""
        case = self.get(case_id)
        now = self._clock()
        entry = HistoryEntry(at=now, actor=actor, action=action, note=note, before=before or {}, after=after or {})
        return self._cases.update(case.model_copy(update={"updated_at": now}), entry)

    def close_if_cleared(self, case: Case, *, note: str) -> Case:
        """Resolve a case whose cause has gone away, saying so in its history."""
        if not case.is_open:
            return case
        return self._change(case, {"status": CaseStatus.resolved}, actor=SYSTEM_ACTOR, action="auto_resolved", note=note)

    def close_refusals_of_invoiced(self, work_order_id: str, version: int, *, note: str) -> list[Case]:
        """Resolve the open ``ledger_rejected`` cases of a work order whose invoice went in later: this version's
        own (a replay that was refused, then pushed) and an earlier version's. Returns the cases it closed.

        A refusal is about one push; once the job is invoiced it asks nothing of anyone, and left open it would
        read as work still to do. A later version's refusal is not this invoice's business, so it stays.
        """
        refused = self._cases.list(work_order_id=work_order_id, kinds=(CaseKind.ledger_rejected,),
                                   statuses=(CaseStatus.open, CaseStatus.in_progress))
        return [self.close_if_cleared(case, note=note) for case in refused
                if case.work_order_version is None or case.work_order_version <= version]

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
            before={k: _plain(v) for k, v in before.items()},
            after={k: _plain(v) for k, v in fields.items()},
        )
        return self._cases.update(updated, entry)


def _plain(value: Any) -> Any:
    """A field's value as the history keeps it: text, a list of texts, or None."""
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return [str(item) for item in value]
    return str(value)
