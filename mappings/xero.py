"""InvoiceDraft → the Xero ACCREC invoice or ACCRECCREDIT credit note (Accounting API field names) that
``connectors.xero.XeroLedger`` sends."""

from __future__ import annotations

from typing import Any

from workorders.drafts import DraftLine, InvoiceDraft

MAX_INVOICE_NUMBER = 255
MAX_REFERENCE = 255
MAX_DESCRIPTION = 4000
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
MAX_ADDRESS, MAX_CITY, MAX_POSTAL_CODE, MAX_COUNTRY = 500, 255, 50, 50  # xero_accounting.yaml, Address


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
    if line.tracking:
        item["Tracking"] = [dict(zip(("Name", "Option"), (part.strip() for part in pair.split("/", 1)), strict=True))
                            for pair in line.tracking]
    return item


def contact_addresses(draft: InvoiceDraft) -> dict[str, dict[str, str]]:
    """A new contact's addresses by Xero AddressType: POBOX is the postal (billing) one, STREET the site."""
    found: dict[str, dict[str, str]] = {}
    for kind, address in (("POBOX", draft.bill_to), ("STREET", draft.ship_to)):
        if address is not None:
            fields = {"AddressLine1": address.line1[:MAX_ADDRESS], "AddressLine2": address.line2[:MAX_ADDRESS],
                      "City": address.city[:MAX_CITY], "Region": address.region[:MAX_CITY],
                      "PostalCode": address.postal_code[:MAX_POSTAL_CODE], "Country": address.country[:MAX_COUNTRY]}
            if any(fields.values()):
                found[kind] = {name: value for name, value in fields.items() if value}
    return found


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
    the draft's rounded amount, so Xero refuses a line whose arithmetic differs from ours; DueDate from the
    mapping tables' terms (an AUTHORISED invoice needs one unless the organisation or contact has default
    sales terms, so Closeout sends it whenever the company set terms); Tracking "Category/Option" per line
    from the job type. Xero computes each line's TaxAmount from its TaxType and LineAmountTypes. Amounts are
    Decimals; the SDK writes them as JSON numbers. Raises ValueError for an empty contact id, doc number
    or line list, or an unknown ``line_amount_types``.
    """
    return _document(draft, contact_id, line_amount_types, kind="ACCREC", number_field="InvoiceNumber", status=status,
                     due=True)


def to_xero_credit_note(draft: InvoiceDraft, *, contact_id: str,
                        line_amount_types: str = "Exclusive") -> dict[str, Any]:
    """The sales credit note (Type ACCRECCREDIT) for ``draft``, a draft of what is credited, to contact ``contact_id``.

    As ``to_xero_invoice`` (Contact, Reference, Date, LineAmountTypes, CurrencyCode, the lines), with
    CreditNoteNumber the draft's doc number (unique per organisation among ACCRECCREDIT, like an invoice
    number), Status AUTHORISED (only an approved credit note can be allocated to an invoice) and no DueDate:
    a credit is never due. The draft's amounts are positive; the credit note's type is what credits them.
    Raises ValueError as ``to_xero_invoice`` does.
    """
    return _document(draft, contact_id, line_amount_types, kind="ACCRECCREDIT", number_field="CreditNoteNumber",
                     status="AUTHORISED", due=False)


def _document(draft: InvoiceDraft, contact_id: str, line_amount_types: str, *, kind: str, number_field: str,
              status: str, due: bool) -> dict[str, Any]:
    """The body an invoice and a credit note share, checked as ``to_xero_invoice`` says."""
    if not contact_id:
        raise ValueError("a Xero invoice or credit note needs the ContactID")
    # the spec gives CreditNoteNumber no maximum length: the invoice number's 255 is assumed for both
    if not draft.doc_number or len(draft.doc_number) > MAX_INVOICE_NUMBER:
        raise ValueError(f"Xero {number_field} must be 1-{MAX_INVOICE_NUMBER} characters, got {draft.doc_number!r}")
    if not draft.lines:
        raise ValueError("a Xero invoice or credit note needs at least one line")
    if line_amount_types not in LINE_AMOUNT_TYPES:
        raise ValueError(f"LineAmountTypes must be one of {LINE_AMOUNT_TYPES}, got {line_amount_types!r}")
    return {
        "Type": kind,
        "Contact": {"ContactID": contact_id},
        number_field: draft.doc_number,
        "Reference": reference_for(draft),
        "Date": draft.txn_date,
        **({"DueDate": draft.due_date} if due and draft.due_date is not None else {}),
        "Status": status,
        "LineAmountTypes": line_amount_types,
        "CurrencyCode": draft.currency,
        "LineItems": [_line(line) for line in draft.lines],
    }
