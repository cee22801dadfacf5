"""Outcomes: what resolving a case about a blocked job does to the job: invoice it anyway, bill nothing, or wait.

A ``rule_blocked`` case whose job is not invoiced is the only thing standing between the job and its invoice:
closing it without saying what becomes of the job would leave the job billed by nobody, with nothing in the record
saying so. So such a case is resolved with one of ``OUTCOME_NAMES`` and a reason, and the job keeps it:

- ``invoice_anyway``: an override (the ``approve_override`` entry the replay honours) and a ready draft of the
  blocked version, which the next run pushes like any other; the case is resolved.
- ``bill_nothing``: a logged ``no_invoice`` decision on the version (rule id ``bill_nothing``, the person and the
  reason in its evidence), which is how the audit and ``explain`` account for a job needing no invoice; resolved.
- ``wait``: the case stays open, tagged as waiting for the source; the next version the source sends is judged
  by the run as usual, and one its rules let through clears the case by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from exceptions_queue.cases import Case, CaseKind, HistoryEntry
from exceptions_queue.desk import OUTCOME_NAMES, DecisionError
from exceptions_queue.service import CaseQueue, CaseTransitionError
from services.config import ConfigError
from services.prepare import draft_for, judge
from services.runtime import Runtime, UnitOfWork
from workorders.anomalies import Anomaly
from workorders.decisions import Outcome, RuleDecision
from workorders.push import PushStatus

__all__ = ["BILL_NOTHING", "OUTCOME_DECIDED", "WAITING_TAG", "CaseOutcome", "about_blocked_job", "billed_nothing",
           "outcomes_of",
           "refuse_plain_resolve", "resolve_with_outcome"]

OUTCOME_DECIDED = "outcome_decided"
"""The case history's action for an outcome; its ``after`` holds ``{"outcome": NAME}`` and its note the reason."""
BILL_NOTHING = "bill_nothing"
"""The rule id of the logged no-invoice decision a person's ``bill_nothing`` leaves on the version."""
WAITING_TAG = "waiting for source"
# A version with one of these is invoiced or on its way: its case no longer decides whether it is billed.
_ON_ITS_WAY = (PushStatus.pushed, PushStatus.pushing, PushStatus.uncertain, PushStatus.ready)
_ONE_LINE = ", ".join(OUTCOME_NAMES[:-1]) + " or " + OUTCOME_NAMES[-1]
MAX_REASON = 1000


@dataclass(frozen=True)
class CaseOutcome:
    """What a person decided should become of a blocked job, on which case: who, when, why."""

    case_id: int
    version: int | None
    outcome: str
    actor: str
    at: datetime
    reason: str
    over: str = ""
    """Why the outcome no longer stands ("" while it does): the case was reopened, or the wait is over."""

    @property
    def standing(self) -> bool:
        return not self.over

    def describe(self) -> str:
        what = {"invoice_anyway": "invoice it anyway", "bill_nothing": "not billed",
                "wait": "waiting for the source"}.get(self.outcome, self.outcome)
        later = f" ({self.over})" if self.over else ""
        return (f"{what}: {self.reason} ({self.actor}, {self.at:%Y-%m-%d %H:%M} UTC, case #{self.case_id}"
                f"{', v' + str(self.version) if self.version is not None else ''}){later}")


def about_blocked_job(uow: UnitOfWork, case: Case) -> bool:
    """True when the case is a rule's block of its job's latest version and that version is not invoiced nor
    queued for the ledger: closing the case is then deciding whether the job is billed."""
    if case.kind is not CaseKind.rule_blocked or case.work_order_id is None or case.work_order_version is None:
        return False
    latest = uow.work_orders.get(case.work_order_id)
    if latest is None or latest.version != case.work_order_version:
        return False
    return not any(r.work_order_version == case.work_order_version and r.status in _ON_ITS_WAY
                   for r in uow.push_records.for_work_order(case.work_order_id))


def refuse_plain_resolve(uow: UnitOfWork, case: Case) -> None:
    """DecisionError when resolving ``case`` without an outcome would drop its job's invoice without a word."""
    if case.is_open and about_blocked_job(uow, case):
        raise DecisionError(f"case #{case.id} blocks job {_job(uow, case)}: resolve it with an outcome and a "
                            f"reason: {_ONE_LINE}")


def resolve_with_outcome(app: Runtime, case_id: int, *, actor: str, outcome: str, reason: str) -> Case:
    """Decide what becomes of the case's blocked job (see the module's docstring); the case after it.

    Refused (DecisionError, nothing stored) for an unknown outcome, a missing reason, a closed case, a case that
    is not about a blocked job, and an ``invoice_anyway`` whose draft cannot be built (a mapping is missing).
    """
    name = outcome.strip()
    if name not in OUTCOME_NAMES:
        raise DecisionError(f"unknown outcome {outcome[:40]!r}: {_ONE_LINE}")
    why = " ".join(reason.split())
    if not why:
        raise DecisionError(f"the outcome {name} needs a reason (the note): it is kept on the job")
    if len(why) > MAX_REASON:
        raise DecisionError(f"the reason is {len(why)} characters: at most {MAX_REASON}")
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases, clock=uow.clock)
        case = queue.get(case_id)
        if not case.is_open:
            raise DecisionError(f"case #{case_id} is {case.status}: reopen it before deciding its job")
        if not about_blocked_job(uow, case):
            raise DecisionError(f"case #{case_id} is not about a blocked job that is still unbilled: resolve it "
                                "without an outcome")
        try:
            DECIDE[name](app, uow, queue, case, actor, why)
        except CaseTransitionError as exc:
            raise DecisionError(str(exc)) from None
        uow.audit.append(actor=actor, action=name, subject=f"{case.work_order_id}@v{case.work_order_version}",
                         note=f"from case #{case_id}: {why}", after={"outcome": name})
        decided = queue.get(case_id)
        uow.commit()
    return decided


def _invoice_anyway(app: Runtime, uow: UnitOfWork, queue: CaseQueue, case: Case, actor: str, reason: str) -> None:
    """The override the replay honours, and the blocked version's draft, ready for the next run's push."""
    order = uow.work_orders.get(case.work_order_id or "", case.work_order_version)
    if order is None:
        raise DecisionError(f"work order {case.work_order_id} v{case.work_order_version} is not in the store")
    try:
        company = app.config.company(case.company or order.company)
    except ConfigError as exc:
        raise DecisionError(f"cannot invoice job {order.job_number}: {exc}") from None
    evaluation = judge(uow, company, order, run_id=f"outcome:case-{case.id}")
    draft = draft_for(uow, company, evaluation)
    if isinstance(draft, Anomaly):
        raise DecisionError(f"job {order.job_number} cannot be invoiced yet: {draft.summary}")
    uow.decisions.add(evaluation.decisions)
    record = uow.push_records.add_ready(draft)
    if record.status is PushStatus.rejected:
        uow.push_records.refresh_rejected(draft)
    queue.approve_override(case.id, actor=actor, reason=reason)
    queue.record(case.id, actor=actor, action=OUTCOME_DECIDED, note=reason,
                 after={"outcome": "invoice_anyway", "doc_number": draft.doc_number})
    queue.resolve(case.id, actor=actor, note=f"invoice anyway: the next run sends invoice {draft.doc_number} "
                                              f"for {draft.total} {draft.currency}")


def _bill_nothing(app: Runtime, uow: UnitOfWork, queue: CaseQueue, case: Case, actor: str, reason: str) -> None:
    """A logged no-invoice decision on the version, naming the person and the reason, then the case resolved."""
    uow.decisions.add([RuleDecision(
        rule_id=BILL_NOTHING, rule_version=1, work_order_id=case.work_order_id or "",
        work_order_version=case.work_order_version or 0, outcome=Outcome.no_invoice,
        reason=f"not billed: {reason} ({actor}, case #{case.id})",
        evidence={"case_id": case.id, "actor": actor, "reason": reason}, run_id=f"case-{case.id}",
        decided_at=uow.clock())])
    queue.record(case.id, actor=actor, action=OUTCOME_DECIDED, note=reason, after={"outcome": BILL_NOTHING})
    queue.resolve(case.id, actor=actor, note=f"bill nothing: {reason}")


def _wait(app: Runtime, uow: UnitOfWork, queue: CaseQueue, case: Case, actor: str, reason: str) -> None:
    """The case stays open, tagged: the source's next version is judged by the run and may clear it."""
    queue.record(case.id, actor=actor, action=OUTCOME_DECIDED, note=reason, after={"outcome": "wait"})
    queue.tag(case.id, actor=actor, tag=WAITING_TAG)


DECIDE = {"invoice_anyway": _invoice_anyway, "bill_nothing": _bill_nothing, "wait": _wait}


def outcomes_of(case: Case) -> list[CaseOutcome]:
    """Every outcome decided on the case (it needs its history: ``uow.cases.get``), oldest first."""
    found: list[CaseOutcome] = []
    entries: tuple[HistoryEntry, ...] = case.history
    for at, entry in enumerate(entries):
        if entry.action != OUTCOME_DECIDED:
            continue
        name = str(entry.after.get("outcome", ""))
        over = ""
        if any(later.action in ("reopened", "unignored") for later in entries[at + 1:]):
            over = "the case was reopened since"
        elif name == "wait" and not case.is_open:
            over = f"over: the case is {case.status}"
        found.append(CaseOutcome(case_id=case.id or 0, version=case.work_order_version, outcome=name,
                                 actor=entry.actor, at=entry.at, reason=entry.note, over=over))
    return found


def billed_nothing(uow: UnitOfWork, decisions: list[RuleDecision]) -> bool:
    """True when a person's ``bill_nothing`` among the version's decisions still stands (its case was not
    reopened since): the job needs no invoice, by that person's word."""
    for decision in decisions:
        if decision.rule_id != BILL_NOTHING or decision.outcome is not Outcome.no_invoice:
            continue
        case = uow.cases.get(int(decision.evidence.get("case_id") or 0))
        if case is not None and any(o.outcome == BILL_NOTHING and o.standing for o in outcomes_of(case)):
            return True
    return False


def _job(uow: UnitOfWork, case: Case) -> str:
    order = uow.work_orders.get(case.work_order_id or "", case.work_order_version)
    return order.job_number if order is not None else str(case.work_order_id)
