"""A credit draft becomes Xero's ACCRECCREDIT body: the invoice's fields and lines, numbered as a credit note."""

from __future__ import annotations

from datetime import date

import pytest

from mappings.xero import to_xero_credit_note, to_xero_invoice
from workorders.drafts import DraftLine, InvoiceDraft


def credit_draft(**changes) -> InvoiceDraft:
    lines = (DraftLine(description="Valve returned", quantity="1", unit_price="33.33", item_ref="PARTS",
                       tax_code="OUTPUT2", income_account="200", tracking=("Job type/Emergency",)),)
    fields = dict(company="acme", ledger="xero", work_order_id="csv:J1", work_order_version=2,
                  customer_name="Acme Plumbing", customer_email=None, doc_number="NW-1001-CR",
                  txn_date=date(2026, 3, 5), due_date=date(2026, 4, 4), po_number="PO-9", lines=lines,
                  currency="NZD")
    return InvoiceDraft(**{**fields, **changes})


def test_a_credit_note_is_an_authorised_accreccredit_numbered_by_the_draft_with_no_due_date():
    body = to_xero_credit_note(credit_draft(), contact_id="c-1")
    assert (body["Type"], body["Status"], body["CreditNoteNumber"]) == ("ACCRECCREDIT", "AUTHORISED", "NW-1001-CR")
    assert "DueDate" not in body and "InvoiceNumber" not in body
    assert body["Contact"] == {"ContactID": "c-1"} and body["Reference"] == "Job NW-1001-CR - PO PO-9"
    assert (body["Date"], body["LineAmountTypes"], body["CurrencyCode"]) == (date(2026, 3, 5), "Exclusive", "NZD")


def test_a_credit_note_carries_the_same_lines_as_an_invoice_of_that_draft():
    draft = credit_draft()
    credit, invoice = to_xero_credit_note(draft, contact_id="c-1"), to_xero_invoice(draft, contact_id="c-1")
    assert credit["LineItems"] == invoice["LineItems"]
    assert credit["LineItems"][0]["Tracking"] == [{"Name": "Job type", "Option": "Emergency"}]
    assert {k: v for k, v in credit.items() if k not in ("Type", "CreditNoteNumber")} == {
        k: v for k, v in invoice.items() if k not in ("Type", "InvoiceNumber", "DueDate")}


def test_a_credit_note_takes_inclusive_lines_when_the_company_prices_with_tax():
    assert to_xero_credit_note(credit_draft(), contact_id="c-1", line_amount_types="Inclusive")[
        "LineAmountTypes"] == "Inclusive"


@pytest.mark.parametrize("contact_id, changes, message", [
    ("", {}, "ContactID"),
    ("c-1", {"lines": ()}, "at least one line"),
    ("c-1", {"doc_number": "N" * 256}, "CreditNoteNumber must be 1-255"),
])
def test_a_credit_note_the_ledger_would_refuse_is_refused_before_sending(contact_id, changes, message):
    with pytest.raises(ValueError, match=message):
        to_xero_credit_note(credit_draft(**changes), contact_id=contact_id)
