"""Explaining one work order: its versions, every rule decision with its evidence, and where it ended (read only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from exceptions_queue.cases import Case
from exceptions_queue.service import OVERRIDE_APPROVED
from services.outcomes import BILL_NOTHING, CaseOutcome, outcomes_of
from services.runtime import UnitOfWork
from workorders.correction_steps import CorrectionRecord, invoiced_now
from workorders.decisions import Outcome, RuleDecision
from workorders.push import PushRecord, PushStatus
from workorders.work_order import WorkOrder

class WorkOrderNotFoundError(LookupError):
    """No work order has this id or job number (the message says which were tried, or which are ambiguous)."""


@dataclass(frozen=True)
class Override:
    """A coordinator's approval to invoice a version its rules blocked: who, when, why, which rules."""

    case_id: int
    version: int | None
    rules: tuple[str, ...]
    actor: str
    at: datetime
    reason: str

    def describe(self) -> str:
        rules = ", ".join(self.rules) or "its rules"
        return (f"case #{self.case_id}: override of {rules} approved by {self.actor} at "
                f"{self.at:%Y-%m-%d %H:%M} UTC: {self.reason}")


@dataclass
class Explanation:
    """Everything the store knows about one work order, oldest version first.

    ``decisions`` holds the latest evaluation of each version (what the job stands on); a replay or a later
    run that judged the same version again leaves the earlier evaluations in ``earlier``, oldest first.
    """

    versions: list[WorkOrder]
    decisions: dict[int, list[RuleDecision]]
    push_records: list[PushRecord] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    corrections: list[CorrectionRecord] = field(default_factory=list)
    earlier: dict[int, list[list[RuleDecision]]] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    outcomes: list[CaseOutcome] = field(default_factory=list)
    """What people decided should become of the job on its blocked cases (``services.outcomes``), oldest first."""

    def override_of(self, version: int, rule_id: str) -> Override | None:
        """The latest override that let this version through this rule's block, if any."""
        found = [o for o in self.overrides if o.version in (None, version) and (not o.rules or rule_id in o.rules)]
        return found[-1] if found else None

    @property
    def latest(self) -> WorkOrder:
        return self.versions[-1]

    def documents(self) -> list[str]:
        """Every ledger document of the job: each invoice pushed, then each step of each correction after it
        (amendment, credit note, supplementary invoice, void), with its state and ledger id."""
        shown = []
        for record in self.push_records:
            if record.status is PushStatus.pushed:
                paid = describe_payment(record)
                shown.append(f"invoice {record.doc_number} for {record.amount} {record.draft.currency} (version "
                             f"{record.work_order_version}) in {record.ledger} [{record.ledger_id}]"
                             + (f"; {paid}" if paid else ""))
        for done in self.corrections:
            step = done.step
            made = f" [{done.ledger_id}]" if done.ledger_id else ""
            error = f": {done.last_error}" if done.last_error and done.status.value != "done" else ""
            shown.append(f"version {step.from_version} -> {step.to_version}: {step.describe()} in {step.ledger}{made}: "
                         f"{done.status.value}{error} (by {done.actor or 'closeout'})")
        return shown

    def ending(self) -> str:
        """Where the latest version ended, in one line."""
        latest = self.latest
        for record in self.push_records:
            if record.status is not PushStatus.pushed:
                continue
            now = invoiced_now(record.work_order_version, record.draft, self.corrections)
            if now.corrected and now.version == latest.version:
                steps = "; ".join(f"{r.step.describe()} [{r.ledger_id}]" for r in now.steps
                                  if r.step.to_version == latest.version)
                return f"invoiced through a correction of invoice {record.doc_number}: {steps}"
        pushed = [r for r in self.push_records if r.work_order_version == latest.version]
        if pushed:
            record = pushed[-1]
            paid = describe_payment(record)
            return f"invoice {record.doc_number} for {record.amount} {latest.currency}: {record.status.value}" + (
                f" (ledger id {record.ledger_id})" if record.ledger_id else "") + (f"; {paid}" if paid else "")
        standing = [o for o in self.outcomes if o.standing and o.version == latest.version]
        open_cases = [c for c in self.cases if c.is_open and c.work_order_version in (None, latest.version)]
        if open_cases:
            waits = {o.case_id: o for o in standing if o.outcome == "wait"}
            return "; ".join(f"case #{c.id} {c.kind.value} ({c.status.value})"
                             + (f", {waits[c.id].describe()}" if c.id in waits else "") for c in open_cases)
        billed_nothing = [o for o in standing if o.outcome == BILL_NOTHING]
        if billed_nothing:
            return billed_nothing[-1].describe()
        decided = self.decisions.get(latest.version, [])
        if not decided:
            return "not evaluated yet: the next run decides it"
        no_invoice = [d for d in decided if d.outcome is Outcome.no_invoice]
        if no_invoice:
            return "no invoice: " + "; ".join(f"{d.rule_id}: {d.reason}" for d in no_invoice)
        return "ready, waiting for a draft"

    def as_dict(self) -> dict:
        return {
            "work_order_id": self.latest.id, "ending": self.ending(),
            "versions": [v.model_dump(mode="json") for v in self.versions],
            "decisions": {str(v): [d.model_dump(mode="json") for d in ds] for v, ds in self.decisions.items()},
            "earlier_evaluations": {str(v): [[d.model_dump(mode="json") for d in run] for run in runs]
                                    for v, runs in self.earlier.items()},
            "overrides": [{"case_id": o.case_id, "version": o.version, "rules": list(o.rules), "actor": o.actor,
                           "at": o.at.isoformat(), "reason": o.reason} for o in self.overrides],
            "outcomes": [{"case_id": o.case_id, "version": o.version, "outcome": o.outcome, "actor": o.actor,
                          "at": o.at.isoformat(), "reason": o.reason, "standing": o.standing, "over": o.over}
                         for o in self.outcomes],
            "drafts": [r.model_dump(mode="json") for r in self.push_records],
            "cases": [c.model_dump(mode="json") for c in self.cases],
            "documents": self.documents(),
            "corrections": [c.model_dump(mode="json") for c in self.corrections],
        }


def describe_payment(record: PushRecord) -> str:
    """What the ledger last said of the invoice's payment, in words ("" before ``closeout reconcile`` read it)."""
    if not record.payment_state:
        return ""
    when = f", read {record.payment_read_at:%Y-%m-%d %H:%M} UTC" if record.payment_read_at else ""
    owed = (f" ({record.ledger_balance} {record.draft.currency} owed)"
            if record.payment_state == "part_paid" and record.ledger_balance is not None else "")
    return f"{record.payment_state.replace('_', '-')} in the ledger{owed}{when}"


def resolve_work_order(uow: UnitOfWork, reference: str) -> str:
    """A work order id (``csv:J20463``) as given, or the id of the one work order with this job number."""
    reference = reference.strip()
    if uow.work_orders.get(reference) is not None:
        return reference
    found = uow.work_orders.ids_for_job_number(reference)
    if len(found) == 1:
        return found[0]
    if found:
        raise WorkOrderNotFoundError(f"job number {reference!r} is used by {', '.join(found)}: name one of them")
    raise WorkOrderNotFoundError(f"no work order has the id or job number {reference!r}")


def explain_work_order(uow: UnitOfWork, reference: str) -> Explanation:
    """Read the work order's whole story from the store; changes nothing."""
    work_order_id = resolve_work_order(uow, reference)
    versions = uow.work_orders.versions(work_order_id)
    # a person's bill_nothing is the job's outcome, not a run of its rules: shown as the outcome, not as an evaluation
    evaluations = split_evaluations([d for d in uow.decisions.for_work_order(work_order_id)
                                     if d.rule_id != BILL_NOTHING])
    cases = uow.cases.list(work_order_id=work_order_id, statuses=(), limit=1000)
    return Explanation(versions=versions, decisions={v: runs[-1] for v, runs in evaluations.items()},
                       earlier={v: runs[:-1] for v, runs in evaluations.items() if len(runs) > 1},
                       push_records=uow.push_records.for_work_order(work_order_id), cases=cases,
                       corrections=uow.corrections.for_work_order(work_order_id),
                       overrides=_overrides(uow, cases), outcomes=_outcomes(uow, cases))


def split_evaluations(decisions: list[RuleDecision]) -> dict[int, list[list[RuleDecision]]]:
    """Decisions (in the order they were stored) as evaluations per version: a new one starts at another run
    id, or when a rule speaks a second time (the same run judged the version again)."""
    evaluations: dict[int, list[list[RuleDecision]]] = {}
    for decision in decisions:
        runs = evaluations.setdefault(decision.work_order_version, [])
        current = runs[-1] if runs else None
        if (current is None or current[0].run_id != decision.run_id
                or any(d.rule_id == decision.rule_id for d in current)):
            runs.append([decision])
        else:
            current.append(decision)
    return evaluations


def _overrides(uow: UnitOfWork, cases: list[Case]) -> list[Override]:
    """Every override approved on the job's cases, oldest first (the listed cases carry no history: read it)."""
    found = []
    for listed in cases:
        case = uow.cases.get(listed.id) or listed
        rules = tuple(d.get("rule_id", "") for d in (case.evidence or {}).get("decisions", ()) if isinstance(d, dict))
        found += [Override(case_id=case.id, version=case.work_order_version, rules=tuple(r for r in rules if r),
                           actor=entry.actor, at=entry.at, reason=entry.note)
                  for entry in case.history if entry.action == OVERRIDE_APPROVED]
    return sorted(found, key=lambda o: o.at)


def _outcomes(uow: UnitOfWork, cases: list[Case]) -> list[CaseOutcome]:
    """Every outcome decided on the job's cases, oldest first (read with each case's history)."""
    found = [outcome for listed in cases for outcome in outcomes_of(uow.cases.get(listed.id) or listed)]
    return sorted(found, key=lambda o: o.at)
