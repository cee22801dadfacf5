"""InvoiceDraft → the Xero ACCREC invoice (Accounting API field names) that ``connectors.xero.XeroLedger`` sends."""

from __future__ import annotations

from typing import Any

from workorders.drafts import DraftLine, InvoiceDraft

MAX_INVOICE_NUMBER = 255
MAX_REFERENCE = 255
MAX_DESCRIPTION = 4000
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")


def _line(line: DraftLine) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Description": line.description[:MAX_DESCRIPTION] or line.item_ref,
        "Quantity": line.quantity,
        "UnitAmount": line.unit_price,
        "ItemCode": line.item_ref,
        "TaxType": line.tax_code,
        "LineAmount": line.amount,
    }
    if line.income_account:
        item["AccountCode"] = line.income_account
    return item


def reference_for(draft: InvoiceDraft) -> str:
    """What the customer sees as the reference: "Job {doc number}[ - PO n]"; also a lookup key in Xero."""
    reference = f"Job {draft.doc_number}"
    if draft.po_number:
        reference += f" - PO {draft.po_number}"
    return reference[:MAX_REFERENCE]


def to_xero_invoice(draft: InvoiceDraft, *, contact_id: str, line_amount_types: str = "Exclusive",
                    status: str = "AUTHORISED") -> dict[str, Any]:
    """The sales invoice for ``draft``, billed to the Xero contact ``contact_id``.

    Fields: Type ACCREC, Contact.ContactID, InvoiceNumber (the job's doc number, unique per organisation
    for ACCREC), Reference (``reference_for``), Date (the draft's date), Status (AUTHORISED by default:
    approved and ready for finance; DRAFT also works), LineAmountTypes (Xero's tax model: the draft's unit
    prices are Exclusive of tax unless the company says otherwise), CurrencyCode, and one line per draft
    line with Description, Quantity, UnitAmount, ItemCode (the mapped item), TaxType (the mapped tax
    code), AccountCode (the mapped income account, else the item's sales account) and LineAmount =
    the draft's rounded amount, so Xero refuses a line whose arithmetic differs from ours. Amounts are
    Decimals; the SDK writes them as JSON numbers. Raises ValueError for an empty contact id, doc number
    or line list, or an unknown ``line_amount_types``.
    """
    if not contact_id:
        raise ValueError("an invoice needs the Xero ContactID")
    if not draft.doc_number or len(draft.doc_number) > MAX_INVOICE_NUMBER:
        raise ValueError(f"Xero InvoiceNumber must be 1-{MAX_INVOICE_NUMBER} characters, got {draft.doc_number!r}")
    if not draft.lines:
        raise ValueError("an invoice needs at least one line")
    if line_amount_types not in LINE_AMOUNT_TYPES:
        raise ValueError(f"LineAmountTypes must be one of {LINE_AMOUNT_TYPES}, got {line_amount_types!r}")
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": draft.doc_number,
        "Reference": reference_for(draft),
        "Date": draft.txn_date,
        "Status": status,
        "LineAmountTypes": line_amount_types,
        "CurrencyCode": draft.currency,
        "LineItems": [_line(line) for line in draft.lines],
    }
