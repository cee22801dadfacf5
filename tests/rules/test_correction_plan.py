"""The correction a change after invoicing calls for, from the diff and the invoice's payment state (pure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from workorders.correction_plan import CorrectionPath, StepKind, plan_correction, related_doc_number
from workorders.corrections import diff_drafts
from workorders.drafts import DraftLine, InvoiceDraft

D = Decimal


def line(description: str, quantity: str, price: str, **fields: Any) -> DraftLine:
    return DraftLine(description=description, quantity=D(quantity), unit_price=D(price),
                     item_ref=fields.pop("item_ref", "1"), tax_code=fields.pop("tax_code", "TAX"),
                     kind=fields.pop("kind", "part"), **fields)


def draft(version: int, *lines: DraftLine, **fields: Any) -> InvoiceDraft:
    return InvoiceDraft(**({"company": "northwind", "ledger": "quickbooks", "work_order_id": "csv:J1",
                            "work_order_version": version, "customer_name": "Maple Street Bakery",
                            "doc_number": "NW-1001", "txn_date": date(2026, 11, 16), "currency": "USD",
                            "lines": lines} | fields))


LABOUR, VALVE, FILTER = line("Labour", "2", "125.00", kind="labour"), line("Valve", "1", "89.00"), line("Filter", "2", "15.00")
INVOICED = draft(1, LABOUR, VALVE)  # 339.00


def plan(new: InvoiceDraft | None, state: str, *, gone: bool = False):
    diff = diff_drafts(INVOICED, new) if new is not None else None
    return plan_correction(doc_number="NW-1001", total_before=INVOICED.total, diff=diff, gone=gone, payment_state=state)


def test_a_returned_part_on_an_unpaid_invoice_amends_it_in_place():
    found = plan(draft(2, LABOUR), "unpaid")

    assert found.path is CorrectionPath.amend
    [step] = found.steps
    assert (step.kind, step.doc_number, step.amount) == (StepKind.update_invoice, "NW-1001", D("250.00"))
    assert step.lines == ("removed line 'Valve': amount 89.00",)


def test_an_added_line_on_a_paid_invoice_is_a_supplementary_invoice_named_after_the_original():
    found = plan(draft(2, LABOUR, VALVE, FILTER), "paid")

    assert found.path is CorrectionPath.credit_and_reissue
    assert [(s.kind, s.doc_number, s.amount) for s in found.steps] == [
        (StepKind.supplementary_invoice, "NW-1001-A", D("30.00"))]
    assert found.describe() == ("supplementary invoice NW-1001-A for 30.00 before tax: 'Filter' billed (30.00)",)


def test_a_part_paid_invoice_with_a_lower_price_and_an_added_line_gets_a_credit_note_and_a_supplementary_one():
    cheaper = line("Labour", "2", "110.00", kind="labour")

    found = plan(draft(2, cheaper, VALVE, FILTER), "part_paid")

    assert [(s.kind, s.amount, s.lines) for s in found.steps] == [
        (StepKind.credit_note, D("30.00"), ("'Labour' reduced by 30.00",)),
        (StepKind.supplementary_invoice, D("30.00"), ("'Filter' billed (30.00)",))]
    assert "part-paid" in found.why


def test_a_line_whose_tax_code_changed_is_credited_as_invoiced_and_billed_again():
    found = plan(draft(2, LABOUR, line("Valve", "1", "89.00", tax_code="NON")), "paid")

    assert [(s.kind, s.amount) for s in found.steps] == [(StepKind.credit_note, D("89.00")),
                                                          (StepKind.supplementary_invoice, D("89.00"))]


def test_a_change_beyond_the_lines_credits_the_invoice_in_full_and_bills_it_again_whole():
    found = plan(draft(2, LABOUR, VALVE, customer_name="Maple Street Bakery Ltd"), "paid")

    assert [(s.kind, s.amount) for s in found.steps] == [(StepKind.credit_note, D("339.00")),
                                                          (StepKind.supplementary_invoice, D("339.00"))]
    assert found.steps[1].lines == ("the invoice again with customer_name changed",)


@pytest.mark.parametrize(("state", "path", "kind"), [("unpaid", CorrectionPath.void, StepKind.void_invoice),
                                                     ("paid", CorrectionPath.credit_in_full, StepKind.credit_note),
                                                     ("part_paid", CorrectionPath.credit_in_full, StepKind.credit_note),
                                                     ("", CorrectionPath.credit_in_full, StepKind.credit_note)])
def test_a_job_cancelled_after_billing_voids_an_unpaid_invoice_and_credits_any_other_in_full(state, path, kind):
    found = plan(None, state, gone=True)

    assert found.path is path and [(s.kind, s.amount) for s in found.steps] == [(kind, D("339.00"))]


def test_an_invoice_whose_payment_was_never_read_is_treated_as_paid_never_edited():
    found = plan(draft(2, LABOUR), "")

    assert found.path is CorrectionPath.credit_and_reissue
    assert [(s.kind, s.amount) for s in found.steps] == [(StepKind.credit_note, D("89.00"))]
    assert "never read" in found.why


def test_an_invoice_voided_in_the_ledger_needs_nothing_sent():
    found = plan(draft(2, LABOUR), "voided")

    assert found.path is CorrectionPath.none and found.steps == () and found.describe() == ("nothing to send",)


def test_drafts_that_could_not_be_compared_credit_the_invoice_in_full_even_when_unpaid():
    found = plan(None, "unpaid")

    assert [(s.kind, s.amount) for s in found.steps] == [(StepKind.credit_note, D("339.00"))]
    assert "could not be compared" in found.why


def test_a_derived_doc_number_fits_quickbooks_21_characters_and_keeps_its_suffix():
    assert related_doc_number("NW-1001", "A") == "NW-1001-A"
    assert related_doc_number("X" * 21, "CR") == "X" * 18 + "-CR"
    assert len(related_doc_number("Y" * 30, "A")) == 21


def test_a_new_version_the_invoice_already_bills_needs_nothing_sent():
    same = draft(2, LABOUR, VALVE)
    assert (plan(same, "unpaid").path, plan(same, "paid").steps) == (CorrectionPath.none, ())
