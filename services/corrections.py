"""Applying a correction after invoicing: a coordinator's decision on a ``changed_after_invoiced`` case, sent once.

    apply_correction   the plan as the ledger's state now calls for it (amend an unpaid invoice, else credit it
                       and bill what was added, void or credit a job no longer billed)
    apply_as_credit    a credit note and a supplementary invoice, even where the invoice could be edited
    keep_invoice       the invoice stays as it is, with the reason; nothing is sent

Exactly once, like the first push: the steps are recorded before anything is sent (``uow.corrections``), each
under a key derived from the work order, the invoiced version and the new version; a step is claimed before it
is sent, so two workers never send one; a step whose answer was lost is looked up in the ledger (the invoice's
amounts or status, the credit note's or supplementary invoice's number) before it is sent again. The first
recorded plan of a correction is its plan: deciding again resumes it, whatever the ledger's state says since.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any

from connectors.errors import ConnectorError, RejectedError
from exceptions_queue.cases import Case, CaseKind, CaseStatus
from exceptions_queue.desk import DecisionError
from exceptions_queue.service import CaseQueue, CaseTransitionError
from mappings.drafts import build_draft
from mappings.qbo import to_qbo_credit_memo
from mappings.xero import to_xero_credit_note
from services.config import CompanyConfig
from services.line_prices import apply_line_prices
from services.mapping_overrides import effective_tables
from services.push.pacing import ThrottledLedger
from services.push.pusher import DUPLICATE_CODES, draft_payload
from services.runtime import Runtime
from workorders.anomalies import Anomaly
from workorders.correction_plan import CorrectionPlan, CorrectionPath, StepKind, plan_correction
from workorders.correction_steps import CorrectionRecord, CorrectionStatus, CorrectionStep, build_steps, invoiced_now
from workorders.corrections import diff_drafts
from workorders.drafts import InvoiceDraft
from workorders.payments import read_payment
from workorders.push import STALE_AFTER, PushRecord, PushStatus
from workorders.totals import sent_amount
from workorders.work_order import Billing, WorkOrderStatus

__all__ = ["POLICY_ACTOR", "CorrectionChoice", "CorrectionReport", "apply_by_policy", "change_evidence", "correct_case", "credit_payload",
           "record_correction", "send_steps"]

_NOT_BILLED = (WorkOrderStatus.cancelled, WorkOrderStatus.deleted)
"""A version in these states is billed nothing, as ``not_invoiced_before`` judges it: its invoice is voided or credited."""


class CorrectionChoice(StrEnum):
    """The decisions on a ``changed_after_invoiced`` case: the same names in the UI, the CLI and the JSON API."""

    apply_correction = "apply_correction"
    apply_as_credit = "apply_as_credit"
    keep_invoice = "keep_invoice"


@dataclass
class CorrectionReport:
    case_id: int
    work_order_id: str
    outcome: str
    """``applied``, ``kept``, ``nothing_to_do``, ``waiting`` (a step's answer was lost: it is looked up before
    any resend), ``refused`` (the ledger refused a step: the case stays open with its message) or
    ``left_for_a_person`` (the company's policy does not apply this plan by itself)."""
    why: str = ""
    steps: list[CorrectionRecord] = field(default_factory=list)

    def lines(self) -> list[str]:
        shown = [f"case #{self.case_id} ({self.work_order_id}): {self.outcome.replace('_', ' ')}"
                 + (f": {self.why}" if self.why else "")]
        for record in self.steps:
            made = f" [{record.ledger_id}]" if record.ledger_id else ""
            error = f": {record.last_error}" if record.last_error and record.status is not CorrectionStatus.done else ""
            shown.append(f"  {record.step.describe()}{made}: {record.status.value}{error}")
        return shown

    def as_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "work_order_id": self.work_order_id, "outcome": self.outcome,
                "why": self.why, "steps": [{"key": r.step.key, "kind": r.step.kind.value, "doc_number": r.step.doc_number,
                                            "amount": str(r.step.amount), "status": r.status.value,
                                            "ledger_id": r.ledger_id, "error": r.last_error} for r in self.steps]}


@dataclass(frozen=True)
class _Subject:
    """What a correction is about, read from the case and the store."""

    case: Case
    company: CompanyConfig
    original: PushRecord
    """The push record of the job's first invoice in this ledger."""
    recorded: list[CorrectionRecord]
    new_version: int


def correct_case(app: Runtime, case_id: int, *, actor: str,
                 choice: CorrectionChoice = CorrectionChoice.apply_correction, reason: str = "",
                 only_if: Callable[[CorrectionPlan], bool] | None = None,
                 stale_after: timedelta = STALE_AFTER) -> CorrectionReport:
    """Decide a ``changed_after_invoiced`` case (see the module docstring). A decision that cannot be taken as
    asked (another case kind, a closed case, an invoice not in the ledger) is a DecisionError.

    ``only_if``: a new plan is recorded and sent only when it says yes (a company's policy); otherwise the
    case is left for a person (``left_for_a_person``). A correction already recorded is always finished.
    """
    subject = _read_subject(app, case_id)
    if choice is CorrectionChoice.keep_invoice:
        return _keep(app, subject, actor=actor, reason=reason)
    steps = record_correction(app, case_id, actor=actor, choice=choice, subject=subject, only_if=only_if)
    if isinstance(steps, CorrectionPlan):
        if only_if is not None and steps.steps and not only_if(steps):
            return CorrectionReport(case_id, subject.original.work_order_id, "left_for_a_person", steps.why)
        _close(app, subject, actor=actor, action="correction_not_needed", note=steps.why)
        return CorrectionReport(case_id, subject.original.work_order_id, "nothing_to_do", steps.why)
    records = send_steps(app, subject.company, [s.key for s in steps], stale_after=stale_after)
    return _conclude(app, subject, records, actor=actor)


def record_correction(app: Runtime, case_id: int, *, actor: str,
                      choice: CorrectionChoice = CorrectionChoice.apply_correction,
                      subject: _Subject | None = None,
                      only_if: Callable[[CorrectionPlan], bool] | None = None) -> list[CorrectionStep] | CorrectionPlan:
    """Plan the case's correction from the ledger's state now and record its steps, sending nothing; the steps
    already recorded for it when there are (the first plan stands). A plan with nothing to send, or one
    ``only_if`` refuses, is returned as the plan, nothing recorded."""
    subject = subject or _read_subject(app, case_id)
    steps = _recorded_steps(subject)
    if steps:
        return steps
    ledger = ThrottledLedger(app.ledger_for(subject.company), pacer=app.pacer_for(subject.company))
    plan, planned = _plan(app, subject, ledger, prefer_credit=choice is CorrectionChoice.apply_as_credit)
    if not planned or (only_if is not None and not only_if(plan)):
        return plan
    with app.store.unit_of_work() as uow:
        uow.corrections.record(planned, case_id=case_id, actor=actor)
        CaseQueue(uow.cases, clock=uow.clock).record(
            case_id, actor=actor, action="correction_started", note=f"{plan.why}: {'; '.join(plan.describe())}",
            after={"path": plan.path.value, "steps": [s.key for s in planned]})
        recorded = uow.corrections.for_work_order(subject.original.work_order_id)
        uow.commit()
    return _recorded_steps(replace(subject, recorded=recorded))  # another worker's plan, if it recorded first


def send_steps(app: Runtime, company: CompanyConfig, keys: list[str], *,
               stale_after: timedelta = STALE_AFTER) -> list[CorrectionRecord]:
    """Claim and send each step in turn; one claimed by another worker (or done) is left to it, unless it has
    been sending longer than ``stale_after`` (its worker died). Returns every step's record as it stands after."""
    if not company.ledger.push:
        raise DecisionError(f"company {company.id} is in a dry run (push = false): nothing is sent to its ledger")
    ledger = ThrottledLedger(app.ledger_for(company), pacer=app.pacer_for(company))
    for key in keys:
        with app.store.unit_of_work() as uow:
            claimed = uow.corrections.claim([key], stale_after=stale_after)
            uow.commit()
        for record in claimed:
            status, ledger_id, total, error = _send(ledger, company, record)
            with app.store.unit_of_work() as uow:
                uow.corrections.finish(key, status, ledger_id=ledger_id, ledger_total=total, error=error)
                uow.commit()
    with app.store.unit_of_work() as uow:
        return uow.corrections.get(keys)


POLICY_ACTOR = "closeout:policy"
_BY_POLICY = {"amendments": frozenset({CorrectionPath.amend, CorrectionPath.none}),
              "all": frozenset(CorrectionPath)}


def apply_by_policy(app: Runtime, company: CompanyConfig, *, stale_after: timedelta = STALE_AFTER) -> Counter:
    """The pipeline's step after the push: finish every correction already recorded for the company's open
    cases (a lost answer, a worker that died), and apply by itself each new plan its policy allows
    (``CompanyConfig.corrections``); every other case waits for a person. Counts the outcomes."""
    if not company.ledger.push:  # a dry run writes nothing to the ledger, corrections included
        return Counter()
    with app.store.unit_of_work() as uow:
        cases = [c for c in uow.cases.list(kinds=(CaseKind.changed_after_invoiced,), company=company.id,
                                           statuses=(CaseStatus.open, CaseStatus.in_progress), limit=100_000)
                 if c.work_order_id]
        recorded = uow.corrections.for_work_orders([c.work_order_id for c in cases])
    outcomes: Counter = Counter()
    allowed = _policy(company)
    for case in cases:
        mine = [r for r in recorded.get(case.work_order_id, []) if r.case_id == case.id]
        if not mine and allowed is None:
            continue
        actor = mine[0].actor if mine else POLICY_ACTOR
        try:
            report = correct_case(app, case.id, actor=actor, only_if=None if mine else allowed,
                                  stale_after=stale_after)
        except DecisionError:  # the invoice is not in the ledger yet, or cannot be read now: the next run tries
            outcomes["not_now"] += 1
            continue
        outcomes[report.outcome] += 1
    return outcomes


def _policy(company: CompanyConfig) -> Callable[[CorrectionPlan], bool] | None:
    policy = company.corrections
    paths = _BY_POLICY.get(policy.apply)
    if paths is None:
        return None

    def allowed(plan: CorrectionPlan) -> bool:
        return plan.path in paths and (policy.up_to is None or plan.change <= policy.up_to)

    return allowed


def _read_subject(app: Runtime, case_id: int) -> _Subject:
    with app.store.unit_of_work() as uow:
        case = CaseQueue(uow.cases, clock=uow.clock).get(case_id)
        if case.kind is not CaseKind.changed_after_invoiced:
            raise DecisionError(f"case #{case_id} is about {case.kind}: only a changed-after-invoiced case is corrected")
        if not case.is_open:
            raise DecisionError(f"case #{case_id} is {case.status}: reopen it before deciding again")
        if not case.work_order_id or not case.company:
            raise DecisionError(f"case #{case_id} names no work order")
        ledger = str(change_evidence(case).get("ledger") or "")
        pushed = [r for r in uow.push_records.for_work_order(case.work_order_id)
                  if r.ledger == ledger and r.status is PushStatus.pushed and r.ledger_id]
        if not pushed:
            raise DecisionError(f"the invoice of {case.work_order_id} is not in the ledger yet: wait for its push")
        new_version = case.work_order_version or int(change_evidence(case).get("new_version") or 0)
        recorded = uow.corrections.for_work_order(case.work_order_id)
        company = app.config.company(case.company)
        return _Subject(case=case, company=company, original=min(pushed, key=lambda r: r.work_order_version),
                        recorded=recorded, new_version=new_version)


def change_evidence(case: Case) -> dict[str, Any]:
    """What ``not_invoiced_before`` found (the invoiced version, the diff, the plan), from the case's decisions."""
    for decision in case.evidence.get("decisions", []):
        if decision.get("rule_id") == "not_invoiced_before":
            return dict(decision.get("evidence") or {})
    return {}


def _recorded_steps(subject: _Subject) -> list[CorrectionStep]:
    """The steps already recorded for this very correction (to the case's version), done ones included: the
    first plan is kept, and a correction another worker finished is concluded, never planned again."""
    mine = [r.step for r in subject.recorded
            if r.step.ledger == subject.original.ledger and r.step.to_version == subject.new_version]
    return [step for step in mine if step.from_version == mine[0].from_version]


def _plan(app: Runtime, subject: _Subject, ledger: Any, *,
          prefer_credit: bool) -> tuple[CorrectionPlan, tuple[CorrectionStep, ...]]:
    """The plan from what the invoice says now, the new version's draft, and the ledger's own reading of it."""
    original = subject.original
    now = invoiced_now(original.work_order_version, original.draft, subject.recorded)
    if now.draft is None:
        raise DecisionError(f"invoice {original.doc_number} was already voided or credited by a correction")
    new = _new_draft(app, subject)
    invoice = _call(lambda: ledger.read_invoice(original.ledger_id))
    if invoice is None:
        raise DecisionError(f"invoice {original.doc_number} ({original.ledger_id}) is no longer in the ledger")
    reading = read_payment(original.idempotency_key, invoice, currency=original.draft.currency)
    plan = plan_correction(doc_number=now.draft.doc_number, total_before=now.amount,
                           diff=diff_drafts(now.draft, new) if new is not None else None, gone=new is None,
                           payment_state=reading.state.value if reading else "", prefer_credit=prefer_credit)
    if plan.path is CorrectionPath.none:
        return plan, ()
    # each document sent bills the customer the invoice bills in the ledger (a mapped one where the draft names it)
    return plan, build_steps(plan, invoiced=now.draft, invoice_ledger_id=str(original.ledger_id),
                             from_version=now.version, to_version=subject.new_version, new=new,
                             customer_ref=invoice.customer_ref)


def _new_draft(app: Runtime, subject: _Subject) -> InvoiceDraft | None:
    """The new version's invoice, or None when the job is no longer billed (cancelled, deleted, no charge)."""
    with app.store.unit_of_work() as uow:
        order = uow.work_orders.get(subject.original.work_order_id, subject.new_version)
        if order is None:
            raise DecisionError(f"{subject.original.work_order_id} has no version {subject.new_version}")
        if order.status in _NOT_BILLED or order.billing is not Billing.billable:
            return None
        order = apply_line_prices(uow, order)
        draft = build_draft(order, tables=effective_tables(uow, subject.company), ledger=subject.company.ledger.kind)
    if isinstance(draft, Anomaly):
        raise DecisionError(f"the new version's invoice cannot be drafted: {draft.summary}")
    return draft


def _send(ledger: Any, company: CompanyConfig, record: CorrectionRecord) -> tuple[CorrectionStatus, str | None, Any, str]:
    """One step: looked up first when an earlier attempt may have landed, then sent. Never raises a
    ConnectorError: a refusal is ``rejected``, anything else ``uncertain`` (looked up before the next send)."""
    step = record.step
    try:
        if record.attempts > 1:
            found = _look_up(ledger, company, step)
            if found is not None:
                return CorrectionStatus.done, found.ledger_id, found.total, ""
        answer = _operation(ledger, company, step)
    except RejectedError as exc:
        if exc.code in DUPLICATE_CODES:
            found = _look_up(ledger, company, step)
            if found is not None:
                return CorrectionStatus.done, found.ledger_id, found.total, ""
        return CorrectionStatus.rejected, None, None, exc.message
    except ConnectorError as exc:
        return CorrectionStatus.uncertain, None, None, str(exc)
    return CorrectionStatus.done, answer.ledger_id, answer.total, ""


def _operation(ledger: Any, company: CompanyConfig, step: CorrectionStep) -> Any:
    key = step.request_key
    if step.kind is StepKind.void_invoice:
        return ledger.void_invoice(step.invoice_ledger_id, idempotency_key=key)
    if step.draft is None:  # only a void sends no document (workorders.correction_steps)
        raise RejectedError(f"step {step.key} has no document to send", system=step.ledger, operation=step.kind.value)
    customer = step.draft.customer_ref or ""
    if step.kind is StepKind.update_invoice:
        return ledger.update_invoice(step.invoice_ledger_id, draft_payload(company, step.draft, customer),
                                     idempotency_key=key)
    if step.kind is StepKind.credit_note:
        return ledger.create_credit_note(credit_payload(company, step.draft, customer), idempotency_key=key,
                                         against=step.invoice_ledger_id)
    return ledger.create_invoice(draft_payload(company, step.draft, customer), idempotency_key=key)


def _look_up(ledger: Any, company: CompanyConfig, step: CorrectionStep) -> Any | None:
    """The ledger's document if this step already landed: the invoice at the new amount (or voided), or a
    credit note or supplementary invoice of this number and amount."""
    inclusive = company.ledger.amounts_include_tax
    if step.kind is StepKind.void_invoice:
        invoice = ledger.read_invoice(step.invoice_ledger_id)
        return invoice if invoice is not None and str(invoice.status).upper() == "VOIDED" else None
    if step.kind is StepKind.update_invoice:
        invoice = ledger.read_invoice(step.invoice_ledger_id)
        return invoice if invoice is not None and sent_amount(invoice, tax_inclusive=inclusive) == step.amount else None
    found = (ledger.find_credit_notes if step.kind is StepKind.credit_note else ledger.find_invoices)([step.doc_number])
    return next((d for d in found if sent_amount(d, tax_inclusive=inclusive) == step.amount), None)


def credit_payload(company: CompanyConfig, draft: InvoiceDraft, customer: str) -> dict[str, Any]:
    """The ledger's own credit note body: QBO's CreditMemo or Xero's ACCRECCREDIT."""
    if company.ledger.kind == "xero":
        return to_xero_credit_note(draft, contact_id=customer, line_amount_types=company.ledger.line_amount_types)
    return to_qbo_credit_memo(draft, customer_ref=customer, multicurrency=company.ledger.multicurrency)


def _conclude(app: Runtime, subject: _Subject, records: list[CorrectionRecord], *, actor: str) -> CorrectionReport:
    case_id, order_id = subject.case.id, subject.original.work_order_id
    statuses = {r.status for r in records}
    if statuses == {CorrectionStatus.done}:
        note = "; ".join(f"{r.step.describe()} [{r.ledger_id}]" for r in records)
        _close(app, subject, actor=actor, action="correction_applied", note=note,
               after={r.step.kind.value: r.ledger_id for r in records})
        return CorrectionReport(case_id, order_id, "applied", steps=records)
    refused = [r for r in records if r.status is CorrectionStatus.rejected]
    outcome = "refused" if refused else "waiting"
    why = ("; ".join(f"{r.step.doc_number}: {r.last_error}" for r in refused) if refused else
           "a step's answer was lost or it is being sent: it is looked up in the ledger before any resend")
    with app.store.unit_of_work() as uow:
        CaseQueue(uow.cases, clock=uow.clock).record(case_id, actor=actor, action=f"correction_{outcome}", note=why)
        uow.commit()
    return CorrectionReport(case_id, order_id, outcome, why, steps=records)


def _keep(app: Runtime, subject: _Subject, *, actor: str, reason: str) -> CorrectionReport:
    if not reason.strip():
        raise DecisionError("say why the invoice is kept as it is (a reason is required)")
    _close(app, subject, actor=actor, action="invoice_kept", note=reason.strip())
    return CorrectionReport(subject.case.id, subject.original.work_order_id, "kept", reason.strip())


def _close(app: Runtime, subject: _Subject, *, actor: str, action: str, note: str,
           after: dict[str, Any] | None = None) -> None:
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases, clock=uow.clock)
        if not queue.get(subject.case.id).is_open:
            return  # another worker finished the same correction a moment ago and closed the case with it
        queue.record(subject.case.id, actor=actor, action=action, note=note, after=after)
        try:
            queue.resolve(subject.case.id, actor=actor, note=note[:500])
        except CaseTransitionError:
            return  # closed between the read and the write, by that other worker: its entry stands
        uow.audit.append(actor=actor, action=action, subject=f"{subject.company.id}/{subject.original.work_order_id}",
                         note=f"from case #{subject.case.id}: {note}"[:2000],
                         before={"doc_number": subject.original.doc_number, "version": subject.original.work_order_version},
                         after={"version": subject.new_version, **(after or {})})
        uow.commit()


def _call(read: Any, *, tries: int = 3) -> Any:
    """A read the decision needs now: retried briefly on a passing fault, else the coordinator is told."""
    for attempt in range(tries):
        try:
            return read()
        except RejectedError as exc:
            raise DecisionError(f"the ledger refused the read: {exc.message}") from None
        except ConnectorError as exc:
            if attempt == tries - 1:
                raise DecisionError(f"the ledger could not be read now ({exc}); try again") from None
            time.sleep(0.5 * (attempt + 1))
    return None
