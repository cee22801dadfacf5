"""The correction a billable change after invoicing calls for: amend, credit and reissue, or void (pure).

The plan is computed from the diff of the invoiced draft and the new one, and from the invoice's payment state
as ``closeout reconcile`` last read it (``workorders.payments``). Nothing here talks to a ledger: the plan is
what a coordinator reads on the ``changed_after_invoiced`` case, and what applying it will send.

    unpaid invoice      a billable change: update the invoice in place (QBO sparse update, Xero update of an
                        AUTHORISED invoice without payments); the job cancelled or deleted: void it
    paid or part-paid   a credit note for what was removed or reduced and a supplementary invoice for what was
                        added or increased, both naming the original; cancelled or deleted: credit it in full
    payment not read    as if paid: a credit note is right whether or not the customer paid, an edit is not
    voided in ledger    nothing: the invoice no longer asks for money

Amounts are the lines' amounts before tax: the ledger computes the tax of a credit note or a supplementary
invoice from their lines' tax codes, as it did for the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workorders.corrections import DraftDiff, LineChange
from workorders.drafts import DraftLine
from workorders.money import Money, round_money

__all__ = ["CorrectionPlan", "CorrectionPath", "PlannedStep", "StepKind", "describe_step", "plan_correction", "related_doc_number"]

EDITABLE = frozenset({"unpaid"})
"""Payment states in which the invoice itself may be changed; any other (paid, part-paid, not read) is credited."""
MAX_DOC_NUMBER = 21
"""QBO's DocNumber limit (Intuit's Invoice reference; Xero's InvoiceNumber allows 255): derived numbers fit it."""
_PRICE_FIELDS = frozenset({"quantity", "unit_price"})
"""A changed line whose only differences are these changes by its amount; any other field (item, tax code,
description) means the line as invoiced is credited and the new one billed."""
ZERO = Decimal("0.00")


class CorrectionPath(StrEnum):
    """Stable codes: they show in the case's evidence, the UI and the JSON API."""

    amend = "amend"
    credit_and_reissue = "credit_and_reissue"
    void = "void"
    credit_in_full = "credit_in_full"
    none = "none"


class StepKind(StrEnum):
    update_invoice = "update_invoice"
    credit_note = "credit_note"
    supplementary_invoice = "supplementary_invoice"
    void_invoice = "void_invoice"


class PlannedStep(BaseModel):
    """One ledger operation of a plan: which document, for how much before tax, and the lines it carries."""

    model_config = ConfigDict(frozen=True)

    kind: StepKind
    doc_number: str
    amount: Money
    lines: tuple[str, ...] = ()
    every_line: bool = False
    """The document carries every line: of the invoiced draft for a credit note, of the new one otherwise."""
    sent_lines: tuple[DraftLine, ...] = Field(default=(), exclude=True, repr=False)
    """The lines a partial credit note or supplementary invoice sends (not in the evidence: its text says them)."""

    def describe(self) -> str:
        return describe_step(self.kind, self.doc_number, self.amount, lines=self.lines, done=False)


# One sentence per kind, as planned and as done: a plan and the steps that carry it out read alike.
_SENTENCES = {
    StepKind.update_invoice: ("update invoice {doc} in place to {amount} before tax{lines}",
                              "invoice {doc} updated to {amount} before tax"),
    StepKind.void_invoice: ("void invoice {doc} ({amount} before tax)", "invoice {doc} voided"),
    StepKind.credit_note: ("credit note {doc} for {amount} before tax{lines}",
                           "credit note {doc} for {amount} before tax"),
    StepKind.supplementary_invoice: ("supplementary invoice {doc} for {amount} before tax{lines}",
                                     "supplementary invoice {doc} for {amount} before tax"),
}


def describe_step(kind: StepKind, doc_number: str, amount: Money, *, lines: tuple[str, ...] = (),
                  done: bool) -> str:
    """What a step does (``done=False``: a plan's line, naming the lines it carries) or did."""
    listed = f": {'; '.join(lines)}" if lines else ""
    return _SENTENCES[kind][done].format(doc=doc_number, amount=amount, lines=listed)


class CorrectionPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: CorrectionPath
    why: str
    steps: tuple[PlannedStep, ...] = ()
    total_before: Money | None = None
    """The invoice's lines before tax as invoiced: how far a plan moves it (``change``) is measured from it."""

    @property
    def change(self) -> Decimal:
        """How much the plan moves what the customer is billed, before tax, whichever way."""
        moved = Decimal(0)
        for step in self.steps:
            if step.kind is StepKind.update_invoice and self.total_before is not None:
                moved += abs(step.amount - self.total_before)
            elif step.kind is not StepKind.update_invoice:
                moved += step.amount
        return moved

    def describe(self) -> tuple[str, ...]:
        return tuple(step.describe() for step in self.steps) or ("nothing to send",)

    def evidence(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json"), "text": list(self.describe())}


def related_doc_number(doc_number: str, suffix: str) -> str:
    """A credit note's or supplementary invoice's number derived from the original's (``NW-1001-A``), cut to
    fit QBO's 21 characters from the front of the original so the suffix, which tells them apart, stays."""
    tail = f"-{suffix}"
    return doc_number[: MAX_DOC_NUMBER - len(tail)] + tail


def plan_correction(*, doc_number: str, total_before: Decimal, diff: DraftDiff | None, gone: bool,
                    payment_state: str, prefer_credit: bool = False) -> CorrectionPlan:
    """What to send for the invoice ``doc_number`` (``total_before`` its lines before tax).

    ``gone``: the job no longer is to be billed (cancelled, deleted, no charge). Otherwise ``diff`` is the billable
    change; None when the drafts could not be compared, which plans a credit in full and a reissue.
    ``prefer_credit``: a coordinator chose "apply as credit note + new invoice" over an edit of an unpaid invoice.
    """
    plan = _plan(doc_number=doc_number, total_before=total_before, diff=diff, gone=gone,
                 payment_state=payment_state, prefer_credit=prefer_credit)
    return plan.model_copy(update={"total_before": total_before})


def _plan(*, doc_number: str, total_before: Decimal, diff: DraftDiff | None, gone: bool,
          payment_state: str, prefer_credit: bool) -> CorrectionPlan:
    state = payment_state or "not_read"
    if state == "voided":
        return CorrectionPlan(path=CorrectionPath.none, why="the invoice is already voided in the ledger")
    editable = state in EDITABLE and not prefer_credit
    if not gone and diff is not None and not diff.billable:
        return CorrectionPlan(path=CorrectionPath.none, why="the invoice already says what the new version bills")
    if gone:
        if editable:
            return CorrectionPlan(path=CorrectionPath.void, why="the job is no longer billed and its invoice is unpaid",
                                  steps=(PlannedStep(kind=StepKind.void_invoice, doc_number=doc_number,
                                                     amount=total_before),))
        return CorrectionPlan(path=CorrectionPath.credit_in_full, why=_credited(state, "the job is no longer billed"),
                              steps=(PlannedStep(kind=StepKind.credit_note, doc_number=related_doc_number(doc_number, "CR"),
                                                 amount=total_before, lines=("every line of the invoice",),
                                                 every_line=True),))
    if editable and diff is not None:
        return CorrectionPlan(path=CorrectionPath.amend, why="the invoice is unpaid, so it is corrected in place",
                              steps=(PlannedStep(kind=StepKind.update_invoice, doc_number=doc_number,
                                                 amount=diff.total_after, lines=_texts(diff.lines)),))
    credit, extra = _split(diff, total_before)
    steps = []
    if credit.amount > 0:
        steps.append(PlannedStep(kind=StepKind.credit_note, doc_number=related_doc_number(doc_number, "CR"),
                                 amount=credit.amount, lines=credit.texts, every_line=credit.every_line,
                                 sent_lines=credit.lines))
    if extra.amount > 0:
        steps.append(PlannedStep(kind=StepKind.supplementary_invoice, doc_number=related_doc_number(doc_number, "A"),
                                 amount=extra.amount, lines=extra.texts, every_line=extra.every_line,
                                 sent_lines=extra.lines))
    if prefer_credit and state in EDITABLE:
        why = "a coordinator chose a credit note and a new invoice over an edit of the unpaid invoice"
    elif state in EDITABLE:
        why = "the drafts could not be compared, so the invoice is credited in full"
    else:
        why = _credited(state, "the invoice changes")
    return CorrectionPlan(path=CorrectionPath.credit_and_reissue, why=why, steps=tuple(steps))


def _credited(state: str, what: str) -> str:
    if state == "not_read":
        return (f"{what} and its payment was never read (closeout reconcile reads it): a credit note is right "
                "whether or not it was paid, an edit is not")
    return f"{what} and it is {state.replace('_', '-')}: a paid invoice is credited, never edited"


@dataclass
class _Side:
    """What one document of a credit-and-reissue carries: its amount, its lines in words and as draft lines."""

    amount: Decimal = ZERO
    texts: tuple[str, ...] = ()
    lines: tuple[DraftLine, ...] = ()
    every_line: bool = False

    def add(self, amount: Decimal, text: str, line: DraftLine | None) -> None:
        self.amount += amount
        self.texts = (*self.texts, text)
        self.lines = (*self.lines, line) if line is not None else self.lines


def _split(diff: DraftDiff | None, total_before: Decimal) -> tuple[_Side, _Side]:
    """What to credit and what to bill again, before tax. A change beyond the lines (customer, currency, PO
    number), or drafts that could not be compared, credit the invoice in full and bill the new one whole."""
    if diff is None:
        return _Side(total_before, ("every line of the invoice",), every_line=True), _Side()
    if diff.fields:
        changed = ", ".join(f.field for f in diff.fields)
        return (_Side(diff.total_before, ("every line of the invoice",), every_line=True),
                _Side(diff.total_after, (f"the invoice again with {changed} changed",), every_line=True))
    credit, extra = _Side(), _Side()
    for line in diff.lines:
        before, after = line.amount_before or ZERO, line.amount_after or ZERO
        if line.change == "changed" and {f.field for f in line.fields} <= _PRICE_FIELDS:
            delta = after - before
            if delta < 0:
                credit.add(-delta, f"{line.description!r} reduced by {-delta}", _delta_line(line, -delta, "reduced"))
            elif delta > 0:
                extra.add(delta, f"{line.description!r} increased by {delta}", _delta_line(line, delta, "increased"))
            continue
        if before:
            credit.add(before, _text(line, "credited"), line.before)
        if after:
            extra.add(after, _text(line, "billed"), line.after)
    return credit, extra


def _delta_line(line: LineChange, delta: Decimal, verb: str) -> DraftLine | None:
    """The line that credits or bills the difference: the quantity returned or added at the invoiced price
    when that comes to the exact difference, else one unit of the difference (a price corrected)."""
    if line.before is None or line.after is None:
        return None
    base = line.before if verb == "reduced" else line.after
    quantity = abs(line.before.quantity - line.after.quantity)
    if line.before.unit_price == line.after.unit_price and quantity and round_money(quantity * base.unit_price) == delta:
        return base.model_copy(update={"quantity": quantity})
    return base.model_copy(update={"quantity": Decimal(1), "unit_price": delta,
                                   "description": f"{base.description} ({verb})"[:4000]})


def _text(line: LineChange, verb: str) -> str:
    amount = line.amount_before if verb == "credited" else line.amount_after
    return f"{line.description!r} {verb} ({amount})"


def _texts(lines: tuple[LineChange, ...]) -> tuple[str, ...]:
    return tuple(line.describe() for line in lines)
