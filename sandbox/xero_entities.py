"""Xero documents in the sandbox: validate and save Contacts, Items and Invoices the way the Accounting API does.

Each ``save_*`` takes one request element and returns ``(stored_or_echoed_element, errors)``; an element
with errors is not saved and comes back with ``HasErrors`` / ``HasValidationErrors``, ``StatusAttributeString
"ERROR"`` and ``ValidationErrors``, exactly as ``summarizeErrors=false`` shows it (ledgers.md §2.3).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandbox.xero_store import ACCOUNT_CODES, TAX_RATES, TenantView, loads

CENT = Decimal("0.01")
INVOICE_TYPES = {"ACCPAY", "ACCPAYCREDIT", "APOVERPAYMENT", "APPREPAYMENT", "ACCREC", "ACCRECCREDIT",
                 "AROVERPAYMENT", "ARPREPAYMENT"}
CREATE_STATUSES = {"DRAFT", "SUBMITTED", "AUTHORISED"}
UPDATE_STATUSES = CREATE_STATUSES | {"VOIDED", "DELETED"}
LINE_AMOUNT_TYPES = {"Exclusive", "Inclusive", "NoTax"}
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


class ElementError(Exception):
    """One validation message for the element being saved."""


def ms_date(day: date) -> str:
    return f"/Date({int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)}+0000)/"


def now_ms() -> str:
    return f"/Date({int(datetime.now(UTC).timestamp() * 1000)}+0000)/"


def parse_date(value: Any, field: str) -> date:
    """``/Date(ms[+zzzz])/``, ``YYYY-MM-DD`` or an ISO timestamp, as Xero accepts them."""
    text = str(value)
    match = _MS_DATE.match(text)
    try:
        if match:
            return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).date()
        return date.fromisoformat(text[:10])
    except (ValueError, OverflowError):
        raise ElementError(f"{field} '{text}' is not a valid date") from None


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ElementError(f"{field} must be a number") from None
    if not number.is_finite():
        raise ElementError(f"{field} must be a number")
    return number


def _with_errors(element: dict[str, Any], errors: list[str], flag: str) -> dict[str, Any]:
    return {**element, flag: True, "StatusAttributeString": "ERROR",
            "ValidationErrors": [{"Message": message} for message in errors]}


# ---- contacts -----------------------------------------------------------------------------------


def contact_by_name(view: TenantView, name: str) -> dict[str, Any] | None:
    # a contact is stored with its Name as ``number``: compare that first, so only candidates are parsed
    wanted = name.strip().casefold()
    for number, body in view.db.execute("SELECT number, body FROM xero_docs WHERE tenant = ? AND kind = 'Contact' "
                                        "ORDER BY seq", (view.tenant,)):
        if (number or "").strip().casefold() == wanted:
            contact = loads(body)
            if contact["Name"].strip().casefold() == wanted and contact.get("ContactStatus") == "ACTIVE":
                return contact
    return None


def save_contact(view: TenantView, element: dict[str, Any], *, create_only: bool) -> tuple[dict[str, Any], list[str]]:
    name = str(element.get("Name") or "").strip()
    existing = view.get("Contact", str(element["ContactID"])) if element.get("ContactID") else None
    if element.get("ContactID") and (existing is None or create_only):
        message = "A Contact with this ContactID already exists" if existing else "The ContactID could not be found"
        return _with_errors(element, [message], "HasValidationErrors"), [message]
    if not name and existing is None:
        message = "The contact name must be specified"
        return _with_errors(element, [message], "HasValidationErrors"), [message]
    clash = contact_by_name(view, name) if name else None
    if clash and (existing is None or clash["ContactID"] != existing["ContactID"]):
        message = (f"The contact name {name} is already assigned to another contact. "
                   "The contact name must be unique across all active contacts.")
        return _with_errors(element, [message], "HasValidationErrors"), [message]
    contact = dict(existing or {"ContactID": str(uuid.uuid4()), "ContactStatus": "ACTIVE"})
    for field in ("Name", "EmailAddress", "FirstName", "LastName", "ContactNumber", "AccountNumber",
                  "ContactStatus", "IsCustomer"):
        if field in element:
            contact[field] = element[field]
    contact.update(UpdatedDateUTC=now_ms(), HasValidationErrors=False, HasAttachments=False)
    view.put("Contact", contact["ContactID"], contact, number=contact["Name"])
    return contact, []


# ---- items --------------------------------------------------------------------------------------


def save_item(view: TenantView, element: dict[str, Any], *, create_only: bool) -> tuple[dict[str, Any], list[str]]:
    code = str(element.get("Code") or "").strip()
    existing = view.by_number("Item", code) if code else None
    errors = []
    if not code:
        errors.append("Item code must be specified")
    elif existing and create_only:
        errors.append(f"Item code '{code}' already exists")
    if errors:
        return _with_errors(element, errors, "HasValidationErrors"), errors
    item = dict(existing or {"ItemID": str(uuid.uuid4())})
    item.update({k: v for k, v in element.items() if k not in ("ItemID", "ValidationErrors")})
    item.update(UpdatedDateUTC=now_ms())
    view.put("Item", item["ItemID"], item, number=code)
    return item, []


# ---- invoices -----------------------------------------------------------------------------------


def _resolve_contact(view: TenantView, given: Any) -> dict[str, Any]:
    given = given if isinstance(given, dict) else {}
    if given.get("ContactID"):
        found = view.get("Contact", str(given["ContactID"]))
        if found is None:
            raise ElementError(f"The contact with ContactID {given['ContactID']} could not be found")
        return found
    if given.get("ContactNumber"):
        found = next((c for c in view.all("Contact") if c.get("ContactNumber") == given["ContactNumber"]), None)
        if found:
            return found
    if given.get("Name"):
        found = contact_by_name(view, str(given["Name"]))
        if found:
            return found
        contact, _ = save_contact(view, {"Name": given["Name"]}, create_only=True)
        return contact
    raise ElementError("The Contact must contain at least 1 of the following elements to identify the contact: "
                       "Name, ContactID, ContactNumber")


def _line(view: TenantView, raw: dict[str, Any], amount_types: str, errors: list[str]) -> dict[str, Any]:
    line = {k: v for k, v in raw.items() if k != "ValidationErrors"}
    line.setdefault("LineItemID", str(uuid.uuid4()))
    quantity = _decimal(raw.get("Quantity", 1), "Quantity")
    unit = _decimal(raw.get("UnitAmount", 0), "UnitAmount")
    item = None
    if raw.get("ItemCode"):
        item = view.by_number("Item", str(raw["ItemCode"]))
        if item is None:
            errors.append(f"Item code '{raw['ItemCode']}' is not valid")
    account = raw.get("AccountCode") or ((item or {}).get("SalesDetails") or {}).get("AccountCode")
    if account and account not in ACCOUNT_CODES:
        errors.append(f"Account code '{account}' is not a valid code for this document.")
    tax_type = raw.get("TaxType") or ("NONE" if amount_types == "NoTax" else "OUTPUT")
    if tax_type not in TAX_RATES:
        errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of transaction.")
    expected = (quantity * unit).quantize(CENT, ROUND_HALF_UP)
    if raw.get("DiscountRate") is not None:
        rate = _decimal(raw["DiscountRate"], "DiscountRate")
        expected = (expected * (100 - rate) / 100).quantize(CENT, ROUND_HALF_UP)
    if raw.get("LineAmount") is not None and _decimal(raw["LineAmount"], "LineAmount") != expected:
        errors.append(f"The line total {raw['LineAmount']} does not match the expected line total {expected}")
    rate = Decimal(0) if amount_types == "NoTax" else TAX_RATES.get(tax_type, Decimal(0))
    if amount_types == "Inclusive":
        tax = (expected - expected / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
    else:
        tax = (expected * rate).quantize(CENT, ROUND_HALF_UP)
    line.update(Quantity=quantity, UnitAmount=unit, LineAmount=expected, TaxAmount=tax, TaxType=tax_type)
    if account:
        line["AccountCode"] = account
    return line


def save_invoice(view: TenantView, element: dict[str, Any], *, create_only: bool) -> tuple[dict[str, Any], list[str]]:
    """Create (PUT, or POST without InvoiceID) or update (POST with InvoiceID) one invoice."""
    existing = view.get("Invoice", str(element["InvoiceID"])) if element.get("InvoiceID") else None
    errors: list[str] = []
    try:
        if element.get("InvoiceID") and (create_only or existing is None):
            raise ElementError("An existing Invoice cannot be created again" if existing
                               else "The InvoiceID could not be found")
        if existing is not None:
            return _update_invoice(view, existing, element)
        invoice = _new_invoice(view, element, errors)
    except ElementError as exc:
        errors.append(str(exc))
    if errors:
        return _with_errors(element, errors, "HasErrors"), errors
    view.put("Invoice", invoice["InvoiceID"], invoice, number=invoice["InvoiceNumber"])
    return invoice, []


def _new_invoice(view: TenantView, element: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    kind = element.get("Type")
    if kind not in INVOICE_TYPES:
        raise ElementError("The document type must be specified" if not kind else f"Invoice type '{kind}' is not valid")
    status = element.get("Status") or "DRAFT"
    if status not in CREATE_STATUSES:
        errors.append(f"Invoice status '{status}' cannot be used to create an invoice")
    amount_types = element.get("LineAmountTypes") or "Exclusive"
    if amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{amount_types}' is not valid")
    contact = _resolve_contact(view, element.get("Contact"))
    day = parse_date(element["Date"], "Date") if element.get("Date") else datetime.now(UTC).date()
    due = parse_date(element["DueDate"], "DueDate") if element.get("DueDate") else day + timedelta(days=30)
    number = str(element.get("InvoiceNumber") or "") or (view.next_invoice_number() if kind == "ACCREC" else "")
    if kind == "ACCREC" and view.by_number("Invoice", number) is not None:
        errors.append("Invoice # must be unique.")
    raw_lines = element.get("LineItems") or []
    if not raw_lines and status != "DRAFT":
        errors.append("At least one line item must be specified")
    lines = [_line(view, raw, amount_types, errors) for raw in raw_lines]
    if status != "DRAFT" and not errors and any("AccountCode" not in line for line in lines):
        errors.append("Account code must be specified")
    sub_total = sum((line["LineAmount"] for line in lines), Decimal(0))
    tax = sum((line["TaxAmount"] for line in lines), Decimal(0))
    if amount_types == "Inclusive":
        sub_total -= tax
    total = sub_total + tax
    return {
        "Type": kind, "InvoiceID": str(uuid.uuid4()), "InvoiceNumber": number,
        "Reference": element.get("Reference", ""),
        "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
        "Date": ms_date(day), "DateString": f"{day.isoformat()}T00:00:00",
        "DueDate": ms_date(due), "DueDateString": f"{due.isoformat()}T00:00:00",
        "Status": status, "LineAmountTypes": amount_types, "LineItems": lines,
        "SubTotal": sub_total, "TotalTax": tax, "Total": total, "AmountDue": total, "AmountPaid": Decimal(0),
        "CurrencyCode": element.get("CurrencyCode") or "NZD", "SentToContact": False,
        "UpdatedDateUTC": now_ms(), "HasAttachments": False, "HasErrors": False, "StatusAttributeString": "OK",
    }


def _update_invoice(view: TenantView, existing: dict[str, Any], element: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Status changes (AUTHORISED, VOIDED, DELETED) and Reference edits; paid or voided invoices stay as they are."""
    status = element.get("Status", existing["Status"])
    errors = []
    if status not in UPDATE_STATUSES:
        errors.append(f"Invoice status '{status}' is not valid")
    elif existing["Status"] in ("VOIDED", "DELETED", "PAID") and status != existing["Status"]:
        errors.append(f"This document cannot be edited as it has a status of {existing['Status']}.")
    elif status == "DELETED" and existing["Status"] not in ("DRAFT", "SUBMITTED"):
        errors.append("Only DRAFT and SUBMITTED invoices can be deleted; void an AUTHORISED one.")
    elif status == "VOIDED" and existing["Status"] != "AUTHORISED":
        errors.append("Only AUTHORISED invoices can be voided; delete a DRAFT or SUBMITTED one.")
    if errors:
        return _with_errors(element, errors, "HasErrors"), errors
    invoice = {**existing, "Status": status, "UpdatedDateUTC": now_ms()}
    if "Reference" in element:
        invoice["Reference"] = element["Reference"]
    if status in ("VOIDED", "DELETED"):
        invoice["AmountDue"] = Decimal(0)
    view.put("Invoice", invoice["InvoiceID"], invoice, number=invoice["InvoiceNumber"])
    return invoice, []
