"""The ledger operations a correction plan becomes, each with its own key and the exact document it sends (pure).

A step's ``key`` names the work order, the invoiced version, the new version and the operation: the same
correction planned twice (two workers, a crash and a retry) is the same row, so it is recorded once and sent at
most once. Its ``request_key`` is what the ledger is sent (QBO ``requestid``, Xero ``Idempotency-Key``): the key
and the document's content, like an invoice's, so a resend of the same document replays the first answer.

    planned → sending → done | rejected | uncertain      an uncertain step is looked up in the ledger first
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workorders.correction_plan import CorrectionPlan, PlannedStep, StepKind, describe_step
from workorders.drafts import InvoiceDraft
from workorders.money import Money

__all__ = ["CorrectionRecord", "CorrectionStatus", "CorrectionStep", "Invoiced", "build_steps", "invoiced_now",
           "step_key"]


class CorrectionStatus(StrEnum):
    planned = "planned"
    sending = "sending"
    done = "done"
    rejected = "rejected"
    uncertain = "uncertain"


class CorrectionStep(BaseModel):
    """One operation on one ledger: update or void the invoice, or create a credit note or supplementary invoice."""

    model_config = ConfigDict(frozen=True)

    key: str
    request_key: str
    kind: StepKind
    company: str
    ledger: str
    work_order_id: str
    from_version: int
    to_version: int
    doc_number: str
    invoice_ledger_id: str
    """The original invoice: updated or voided, or the one a credit note and a supplementary invoice name."""
    amount: Money
    draft: InvoiceDraft | None = None
    """The document sent (the whole new invoice for an update, the credit's or the supplement's lines); None
    for a void."""
    target: InvoiceDraft | None = None
    """What the job is invoiced for once every step of the correction is done; None when it is billed nothing."""

    def describe(self) -> str:
        return describe_step(self.kind, self.doc_number, self.amount, done=True)


class CorrectionRecord(BaseModel):
    """A step and what became of it."""

    model_config = ConfigDict(frozen=True)

    step: CorrectionStep
    status: CorrectionStatus
    ledger_id: str | None = None
    """The ledger's id of the document this step made or changed."""
    ledger_total: Money | None = None
    attempts: int = 0
    last_error: str = ""
    case_id: int | None = None
    actor: str = ""
    updated_at: datetime | None = None


def step_key(work_order_id: str, ledger: str, from_version: int, to_version: int, kind: StepKind) -> str:
    return f"{work_order_id}|{ledger}|v{from_version}->v{to_version}|{kind.value}"


def build_steps(plan: CorrectionPlan, *, invoiced: InvoiceDraft, invoice_ledger_id: str, from_version: int,
                to_version: int, new: InvoiceDraft | None, customer_ref: str = "") -> tuple[CorrectionStep, ...]:
    """The plan's steps as documents. ``invoiced`` is what the invoice says now (after earlier corrections);
    ``new`` the new version's draft, None when the job is no longer billed (a void or a credit in full).
    ``customer_ref``: the ledger customer the invoice bills, put on each document that names none, so a resend
    sends exactly what the first attempt sent (the target keeps the draft's own, to compare later versions with)."""
    target = new.model_copy(update={"doc_number": invoiced.doc_number}) if new is not None else None
    steps = []
    for planned in plan.steps:
        draft = _document(planned, invoiced=invoiced, new=target)
        if draft is not None and not draft.customer_ref and customer_ref:
            draft = draft.model_copy(update={"customer_ref": customer_ref})
        key = step_key(invoiced.work_order_id, invoiced.ledger, from_version, to_version, planned.kind)
        steps.append(CorrectionStep(
            key=key, request_key=_request_key(key, draft), kind=planned.kind, company=invoiced.company,
            ledger=invoiced.ledger, work_order_id=invoiced.work_order_id, from_version=from_version,
            to_version=to_version, doc_number=planned.doc_number, invoice_ledger_id=invoice_ledger_id,
            amount=planned.amount, draft=draft, target=target))
    return tuple(steps)


def _document(planned: PlannedStep, *, invoiced: InvoiceDraft, new: InvoiceDraft | None) -> InvoiceDraft | None:
    if planned.kind is StepKind.void_invoice:
        return None
    if planned.kind is StepKind.update_invoice:
        return new
    if planned.kind is StepKind.credit_note:
        lines = invoiced.lines if planned.every_line else planned.sent_lines
        memo = f"Credit for invoice {invoiced.doc_number}"
        return invoiced.model_copy(update={"doc_number": planned.doc_number, "lines": lines, "memo": memo,
                                           "due_date": None, "sales_term_ref": None, "attachment_hashes": ()})
    if new is None:
        raise ValueError("a supplementary invoice bills the new version, and there is none")
    lines = new.lines if planned.every_line else planned.sent_lines
    memo = f"Supplementary to invoice {invoiced.doc_number}" + (f": {new.memo}" if new.memo else "")
    return new.model_copy(update={"doc_number": planned.doc_number, "lines": lines, "memo": memo[:4000],
                                  "attachment_hashes": ()})


def _request_key(key: str, draft: InvoiceDraft | None) -> str:
    content = json.dumps(draft.model_dump(mode="json") if draft else None, sort_keys=True, separators=(",", ":"))
    return "cr-" + hashlib.sha256(f"{key}|{content}".encode()).hexdigest()[:32]


class Invoiced(BaseModel):
    """What one ledger invoices a job for now: its first invoice with every correction applied in full."""

    model_config = ConfigDict(frozen=True)

    version: int
    draft: InvoiceDraft | None
    """None when a void or a credit in full left the job billed nothing."""
    corrected: bool = False
    steps: tuple[CorrectionRecord, ...] = ()
    """The done steps that brought it there, oldest first."""

    @property
    def amount(self) -> Money:
        return self.draft.total if self.draft is not None else Decimal("0.00")


def invoiced_now(version: int, draft: InvoiceDraft, steps: Sequence[CorrectionRecord]) -> Invoiced:
    """The invoice ``draft`` (pushed for ``version``) after the corrections whose every step is done.

    A correction counts only whole: a credit note sent while its supplementary invoice is still uncertain leaves
    the job invoiced for what it was, so the next plan starts from there and the done step is not sent again
    (its key is the same). The latest correction, by the version it brings the invoice to, wins.
    """
    groups: dict[tuple[int, int], list[CorrectionRecord]] = {}
    for record in steps:
        if record.step.ledger == draft.ledger:
            groups.setdefault((record.step.from_version, record.step.to_version), []).append(record)
    applied = [(key, group) for key, group in groups.items()
               if all(r.status is CorrectionStatus.done for r in group)]
    if not applied:
        return Invoiced(version=version, draft=draft)
    (_, to_version), group = max(applied, key=lambda item: (item[0][1], item[0][0]))
    done = tuple(r for _, g in sorted(applied) for r in g)
    return Invoiced(version=to_version, draft=group[0].step.target, corrected=True, steps=done)
