"""Xero CreditNotes in the sandbox: sales credit notes priced like invoices, and their allocation to invoices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.xero_entities import (CENT, CREATE_STATUSES, ElementError, dated, ms_date, now_ms, parse_date,
                                   priced, read_decimal, resolve_contact, save_document, updated_document)
from sandbox.xero_schema import envelope_problems
from sandbox.xero_store import TenantView

# The rules, each with its source ([P] Xero's page or the spec xero_accounting.yaml, [S] a third party, [?]
# unknown and how Closeout stays safe under either answer):
#
# SCHEMA   Bodies are checked against the spec's envelopes {"CreditNotes": [CreditNote]} and {"Allocations":
#          [Allocation]} (spec components/schemas/CreditNotes, Allocations; Allocation requires Amount, Invoice
#          and Date) [P].
# TYPE     ACCRECCREDIT (a sales credit note) only; ACCPAYCREDIT is refused as not served by the sandbox (its
#          own text): Closeout never credits a bill.
# NUMBER   CreditNoteNumber "ACCRECCREDIT – Unique alpha numeric code identifying credit note (when missing will
#          auto-generate…)" [P spec CreditNote.CreditNoteNumber]; a taken one → "Credit Note # must be unique."
#          [S the text an integrator's code matches, XeroAPI/Xero-Net#257]. Missing → CN-0001, CN-0002, … [?
#          the organisation's credit note prefix; Closeout always sends its own number].
# PRICING  Lines, tax and totals exactly as invoices (sandbox.xero_entities.priced: LINE, TAX, TAXTYPE,
#          TRACKING, CURRENCY) [P spec CreditNote.LineItems "See Invoice Line Items"]; the Contact as on an
#          invoice (a ContactID must exist). Status DRAFT (the default [?, as invoices]), SUBMITTED or
#          AUTHORISED on create. No DueDate rule: a credit note is never due [?; the spec has the field].
# CREDIT   RemainingCredit = Total on create, whatever the status [P spec getCreditNotes example: a DRAFT of 46.00
#          has RemainingCredit 46.00]; Allocations [] and Payments [] [P same example].
# UPDATE   POST with CreditNoteID follows the invoice rules (sandbox.xero_entities MOVES, FINAL, LOCKED, EDIT),
#          an allocation counting as the lock [S "once a credit note is fully allocated Xero flips its status to
#          PAID, so nothing about it can be changed until the allocation is removed", XeroAPI/xero-mcp-server
#          PR #194]. [?] Xero's own "not of valid status" wording for a credit note: the invoice text with
#          "Credit Note" for "Invoice". A voided credit note has RemainingCredit 0.
# ALLOCATE PUT /CreditNotes/{id}/Allocations, a separate call after the create [S Xero support quoted on
#          waynerobinson/xeroizer#196: "The allocation cannot be applied at the same time the Credit Note is
#          created"]. Its Amount lowers the invoice's AmountDue, raises its AmountCredited ("Sum of all credit
#          notes … applied to invoice") and lists the credit note in its CreditNotes ("Details of credit notes
#          that have been applied to an invoice", AppliedAmount the amount) [P spec Invoice, CreditNote]; at
#          AmountDue 0 the invoice is PAID with FullyPaidOnDate the allocation's date [P spec
#          Invoice.FullyPaidOnDate]. The credit note's RemainingCredit falls, its Allocations lists the
#          allocation, and at 0 it is PAID [S xero-mcp-server PR #194, above].
# REFUSED  An invoice already paid off → "The invoice you are trying to allocate to has already been paid off";
#          an Amount over the credit's RemainingCredit or over the invoice's AmountDue → "Credit Note cannot be
#          allocated as amount is greater than amount outstanding"; a sales credit on another type of invoice →
#          "Credit Note cannot be allocated to an incorrect invoice type" [S all three from Xero's answer quoted
#          on waynerobinson/xeroizer#320 (the third is cut there after "incorrect invoice t"; the ending is a
#          guess); the second also on calcinai/xero-php#251, an allocation over what remained]. [?] The texts for
#          an invoice or credit note not AUTHORISED, another contact or currency, an Amount ≤ 0 and an unknown
#          invoice are the sandbox's own: each is refused, so Closeout, which checks the invoice first, is safe.
#          An unknown credit note in the path → 404 [?, as GET of an unknown id].

CREDIT_TYPES = {"ACCRECCREDIT"}
CREDIT_FOR_INVOICE = {"ACCRECCREDIT": "ACCREC"}
PAID_OFF = "The invoice you are trying to allocate to has already been paid off"
OVER_OUTSTANDING = "Credit Note cannot be allocated as amount is greater than amount outstanding"
WRONG_INVOICE_TYPE = "Credit Note cannot be allocated to an incorrect invoice type"


def credit_note_problems(body: Any) -> list[str]:
    """SCHEMA above, for a CreditNotes body."""
    return envelope_problems("CreditNotes", "CreditNote", body)


def allocation_problems(body: Any) -> list[str]:
    """SCHEMA above, for an Allocations body."""
    return envelope_problems("Allocations", "Allocation", body)


def _next_number(view: TenantView) -> str:
    """NUMBER above: the first free CN-nnnn."""
    count = len(view.all("CreditNote")) + 1
    while view.by_number("CreditNote", f"CN-{count:04d}") is not None:
        count += 1
    return f"CN-{count:04d}"


def _new_credit_note(view: TenantView, element: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    kind = element.get("Type")
    if not kind:
        raise ElementError("The document type must be specified")
    if kind not in CREDIT_TYPES:
        raise ElementError(f"Credit note type '{kind}' is not served by the sandbox: sales credit notes "
                           "(ACCRECCREDIT) only")
    status = element.get("Status") or "DRAFT"
    if status not in CREATE_STATUSES:
        errors.append(f"Credit Note status '{status}' cannot be used to create a credit note")
    amounts = priced(view, element, status, errors)
    contact = resolve_contact(view, element.get("Contact"))
    day = parse_date(element["Date"], "Date") if element.get("Date") else datetime.now(UTC).date()
    number = str(element.get("CreditNoteNumber") or "") or _next_number(view)
    if view.by_number("CreditNote", number) is not None:
        errors.append("Credit Note # must be unique.")
    credit = {
        "Type": kind, "CreditNoteID": str(uuid.uuid4()), "CreditNoteNumber": number,
        "Reference": element.get("Reference", ""),
        "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
        "Status": status, **amounts, "RemainingCredit": amounts["Total"], "Allocations": [], "Payments": [],
        "CurrencyRate": Decimal(1), "SentToContact": False, "UpdatedDateUTC": now_ms(), "HasAttachments": False,
        "HasErrors": False, "StatusAttributeString": "OK",
    }
    dated(credit, "Date", day)
    if element.get("DueDate"):
        dated(credit, "DueDate", parse_date(element["DueDate"], "DueDate"))
    return credit


def _updated_credit_note(view: TenantView, existing: dict[str, Any], element: dict[str, Any],
                         errors: list[str]) -> dict[str, Any]:
    """UPDATE above: ``updated_document`` with RemainingCredit kept right."""
    status = element.get("Status") or existing["Status"]
    credit = updated_document(view, existing, element, status, errors, kind="CreditNote",
                              number_field="CreditNoteNumber", unique_number=True,
                              allocated=bool(existing.get("Allocations") or existing.get("Payments")))
    used = sum((Decimal(str(a["Amount"])) for a in credit.get("Allocations") or []), Decimal(0))
    credit["RemainingCredit"] = (Decimal(0) if status in ("VOIDED", "DELETED")
                                 else Decimal(str(credit["Total"])) - used)
    return credit


def save_credit_note(view: TenantView, element: dict[str, Any], *,
                     create_only: bool) -> tuple[dict[str, Any], list[str]]:
    """Create (PUT, or POST without CreditNoteID) or update (POST with it) one credit note; the contract of
    sandbox.xero_entities' ``save_*``."""
    return save_document(view, element, entity="CreditNote", label="Credit Note", create_only=create_only,
                         new=_new_credit_note, updated=_updated_credit_note)


# ---- allocations ------------------------------------------------------------------------------------


def _allocated_invoice(view: TenantView, element: dict[str, Any]) -> dict[str, Any] | None:
    given = element.get("Invoice") if isinstance(element.get("Invoice"), dict) else {}
    if given.get("InvoiceID"):
        return view.get("Invoice", str(given["InvoiceID"]))
    return view.by_number("Invoice", str(given["InvoiceNumber"])) if given.get("InvoiceNumber") else None


def _refusals(credit: dict[str, Any], invoice: dict[str, Any] | None, amount: Decimal | None) -> list[str]:
    """REFUSED above: every reason this allocation may not be made (Xero lists them all at once)."""
    if invoice is None:
        return ["The invoice could not be found"]
    errors = []
    if credit["Status"] not in ("AUTHORISED", "PAID"):
        errors.append("Only an AUTHORISED credit note can be allocated")
    if invoice["Type"] != CREDIT_FOR_INVOICE[credit["Type"]]:
        errors.append(WRONG_INVOICE_TYPE)
    due = Decimal(str(invoice["AmountDue"]))
    if invoice["Status"] == "PAID" or (invoice["Status"] == "AUTHORISED" and due <= 0):
        errors.append(PAID_OFF)
    elif invoice["Status"] != "AUTHORISED":
        errors.append("A credit note can only be allocated to an AUTHORISED invoice")
    if str(invoice["Contact"]["ContactID"]).lower() != str(credit["Contact"]["ContactID"]).lower():
        errors.append("The credit note and the invoice must be for the same contact")
    if invoice.get("CurrencyCode") != credit.get("CurrencyCode"):
        errors.append("The credit note and the invoice must be in the same currency")
    if amount is not None and (amount > Decimal(str(credit["RemainingCredit"])) or (due > 0 and amount > due)):
        errors.append(OVER_OUTSTANDING)
    return errors


def allocate(view: TenantView, credit: dict[str, Any], element: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """ALLOCATE above: apply ``element`` (one Allocation) of ``credit`` to its invoice; ``(answer, errors)`` as the
    ``save_*`` functions answer (with StatusAttributeString ERROR and ValidationErrors when refused)."""
    errors: list[str] = []
    amount = day = None
    try:
        amount = read_decimal(element.get("Amount"), "Amount").quantize(CENT, ROUND_HALF_UP)
        if amount <= 0:
            errors.append("The allocation Amount must be greater than zero")
            amount = None
    except ElementError as exc:
        errors.append(str(exc))
    try:
        day = parse_date(element.get("Date"), "Date")
    except ElementError as exc:
        errors.append(str(exc))
    invoice = _allocated_invoice(view, element)
    errors += _refusals(credit, invoice, amount)
    if errors or invoice is None or amount is None or day is None:
        return {**element, "StatusAttributeString": "ERROR",
                "ValidationErrors": [{"Message": message} for message in errors]}, errors
    ident, when = str(uuid.uuid4()), ms_date(day)
    remaining = Decimal(str(credit["RemainingCredit"])) - amount
    credit = {**credit, "RemainingCredit": remaining, "UpdatedDateUTC": now_ms(), "Allocations": [
        *(credit.get("Allocations") or []),
        {"AllocationID": ident, "Amount": amount, "Date": when,
         "Invoice": {"InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"]}}]}
    if remaining == 0:
        credit.update(Status="PAID", FullyPaidOnDate=when)
    due = Decimal(str(invoice["AmountDue"])) - amount
    invoice = {**invoice, "AmountDue": due, "UpdatedDateUTC": now_ms(),
               "AmountCredited": Decimal(str(invoice.get("AmountCredited") or 0)) + amount,
               "CreditNotes": [*(invoice.get("CreditNotes") or []),
                               {"CreditNoteID": credit["CreditNoteID"], "CreditNoteNumber": credit["CreditNoteNumber"],
                                "AppliedAmount": amount, "Total": credit["Total"], "Date": when}]}
    if due == 0:
        invoice.update(Status="PAID", FullyPaidOnDate=when)
    view.put("CreditNote", credit["CreditNoteID"], credit, number=credit["CreditNoteNumber"])
    view.put("Invoice", invoice["InvoiceID"], invoice, number=invoice["InvoiceNumber"])
    return {"AllocationID": ident, "Amount": amount, "Date": when,
            "Invoice": {"InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"]},
            "CreditNote": {"CreditNoteID": credit["CreditNoteID"], "CreditNoteNumber": credit["CreditNoteNumber"]},
            "StatusAttributeString": "OK", "ValidationErrors": []}, []
