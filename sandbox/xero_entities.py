"""Xero documents in the sandbox: validate and save Contacts, Items and Invoices the way the Accounting API does;
invoice updates by Xero's rules, and the line pricing and update rules credit notes share (sandbox.xero_credits).

Each ``save_*`` takes one request element and returns ``(stored_or_echoed_element, errors)``; an element
with errors is not saved and comes back with ``HasErrors`` / ``HasValidationErrors``, ``StatusAttributeString
"ERROR"`` and ``ValidationErrors``, exactly as ``summarizeErrors=false`` shows it (ledgers.md §2.3).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandbox.xero_org import account, currency_codes, due_date_from, tax_rate, tracking_bodies
from sandbox.xero_store import TenantView, loads

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


def read_decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ElementError(f"{field} must be a number") from None
    if not number.is_finite():
        raise ElementError(f"{field} must be a number")
    return number


def with_errors(element: dict[str, Any], errors: list[str], flag: str) -> dict[str, Any]:
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
        return with_errors(element, [message], "HasValidationErrors"), [message]
    if not name and existing is None:
        message = "The contact name must be specified"
        return with_errors(element, [message], "HasValidationErrors"), [message]
    clash = contact_by_name(view, name) if name else None
    if clash and (existing is None or clash["ContactID"] != existing["ContactID"]):
        message = (f"The contact name {name} is already assigned to another contact. "
                   "The contact name must be unique across all active contacts.")
        return with_errors(element, [message], "HasValidationErrors"), [message]
    contact = dict(existing or {"ContactID": str(uuid.uuid4()), "ContactStatus": "ACTIVE"})
    # Addresses (POBOX = the invoice's mailing address, STREET [P developer.xero.com/documentation/api/types
    # "Address Types"]), Phones and PaymentTerms (spec Contact) are kept as sent and answered back.
    for field in ("Name", "EmailAddress", "FirstName", "LastName", "ContactNumber", "AccountNumber",
                  "ContactStatus", "IsCustomer", "Addresses", "Phones", "PaymentTerms"):
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
        return with_errors(element, errors, "HasValidationErrors"), errors
    item = dict(existing or {"ItemID": str(uuid.uuid4())})
    item.update({k: v for k, v in element.items() if k not in ("ItemID", "ValidationErrors")})
    item.update(UpdatedDateUTC=now_ms())
    view.put("Item", item["ItemID"], item, number=code)
    return item, []


# ---- invoices -----------------------------------------------------------------------------------
#
# The rules, each with its source ([P] Xero's page or the spec, [S] a third party, [?] unknown and how
# Closeout stays safe under either answer):
#
# TAX     Each line's TaxAmount = LineAmount × rate (Exclusive) or LineAmount × rate / (1 + rate)
#         (Inclusive), rounded to 2 dp per line; TotalTax is the sum of the rounded lines [P "Rounding in
#         Xero", developer.xero.com/documentation/api-guides/rounding-in-xero: "Xero calculates tax on a per
#         line basis, rounding to two decimal places, and then sums the tax totals of each line"]. NoTax:
#         no tax. SubTotal excludes tax, Total = SubTotal + TotalTax [P spec Invoice.SubTotal / Total]; so
#         with Inclusive lines SubTotal = Σ LineAmount − TotalTax and Total = Σ LineAmount (an AU Inclusive
#         invoice answered LineAmount 55.00, TaxAmount 5.00, AmountDue 55.00 [S aclassinfotech.com sync log]).
#         [?] half-way cents: half up here; Xero (.NET) may round half to even. Closeout reads TotalTax back.
#         A caller's TaxAmount replaces the computed one [P spec LineItem.TaxAmount "This value can be
#         overriden if the calculated <TaxAmount> is not correct"; Xero staff, community.xero.com/developer
#         discussion 39081].
# TAXTYPE A line without TaxType takes its item's SalesDetails.TaxType [?, the spec's Item.SalesDetails has
#         one; not documented for invoices], else its account's TaxType [P "Changes to tax codes in
#         Australia": "rely on using the AccountCode only which defaults the tax code"], else NONE. An
#         unknown TaxType → "The TaxType code X does not exist or cannot be used for this type of
#         transaction." and one the account's class may not use → "The TaxType code 'X' cannot be used with
#         account code 'N'." [S XeroAPI/Xero-Java#336, both messages verbatim; CanApplyTo* from the spec].
# TRACKING At most 2 per line [P spec LineItem.Tracking], by Name/Option or TrackingCategoryID/
#         TrackingOptionID [P spec LineItemTracking]. [?] an unknown category or option: several reports say
#         Xero saves the invoice without the tracking (XeroAPI/xero-node#86, calcinai/xero-php#636), none
#         shows an error text. The sandbox refuses by default (unknown_tracking "refuse", message its own),
#         or drops it ("ignore") to act out the other answer; Closeout checks its mapping against
#         GET /TrackingCategories before it sends, so it is right under both.
# DUE_DATE An AUTHORISED invoice without DueDate → "The document DueDate field must be specified." [S
#         waynerobinson/xeroizer#290 (message), #395 (maintainer: required for AUTHORISED, not for DRAFT)];
#         SUBMITTED is refused too [?, strict]. [?] whether the organisation's or contact's default sales
#         terms fill it in: a user got the error "even though the Default Date is set on the tenant"
#         (XeroAPI/xero-python#78). So by default terms do not help (due_date_from_terms false): Closeout
#         must send DueDate; with due_date_from_terms true the contact's PaymentTerms.Sales, else the
#         organisation's, fill it in. A DueDate before Date is accepted [P spec createInvoices example:
#         Date 2019-03-11, DueDate 2018-12-10, answered 200]. A DRAFT may have no DueDate.
# CURRENCY CurrencyCode defaults to the base currency [S XeroAPI/xero-mcp-server#131]; another one must be
#         among GET /Currencies (multicurrency on and subscribed), else "Organisation is not subscribed to
#         currency X" [S n8n-io/n8n#19499 quoting Xero].
# LINE    LineAmount = Quantity × UnitAmount × (100 − DiscountRate) / 100 [P spec LineItem.LineAmount]; a
#         LineAmount that differs → "The line total of X does not match the expected line total of Y."
#         [S docs.hirepos.com "Xero Rounding Account", quoting Xero].
# UNKNOWN FIELDS are ignored, not refused: Xero answers requests carrying the SDK's read-only fields
#         (HasErrors, HasAttachments; ledgers.md §3.2) and ignores misplaced ones (xero-node#86) [S].
#
# Updates (POST with the InvoiceID; credit notes follow the same rules, sandbox.xero_credits):
#
# MOVES   DRAFT → SUBMITTED | AUTHORISED | DELETED, SUBMITTED → DRAFT | AUTHORISED | DELETED, AUTHORISED →
#         VOIDED; the same status again is no move [S the list Xero support gave, waynerobinson/xeroizer#48;
#         P developer.xero.com/documentation/api/invoices: "Allows you to delete draft invoices. Allows you to
#         void approved invoices"]. Any other move → "Invoice not of valid status for modification." [S Xero
#         staff on XeroAPI/Xero-NetStandard#79: that text means "an invalid status change between two
#         statuses that an invoice cannot move between"]. [?] SUBMITTED → VOIDED: no source allows it, so it is
#         refused; Closeout only pushes AUTHORISED invoices, so either answer is the same for it.
# FINAL   A VOIDED or DELETED invoice takes no change at all, status included (the same text) [S Xero staff,
#         ibid.; "Once an invoice is voided in Xero, it cannot be modified in any way", a Xero developer
#         question on solutionfall.com]. A PAID one neither: that text, then "This document cannot be edited
#         as it has a payment or credit note allocated to it." [S the pair as Ascora's help page quotes Xero].
# LOCKED  An AUTHORISED invoice with a payment or a credit note allocated keeps its lines, amounts, contact,
#         date, number and currency and cannot be voided: "This document cannot be edited as it has a
#         payment or credit note allocated to it." [S Xero's text as Clio's, Payhawk's and WriteUpp's help
#         pages quote it; WriteUpp: approved invoices "that don't have an associated payment will be
#         updated"]. Non-empty LineItems count as an edit even when equal to the stored ones [?, strict].
#         [?] Reference and DueDate: the Xero UI still edits them on a paid document and a Xero UserVoice
#         request says the API does not; the sandbox lets them change on an AUTHORISED invoice. Closeout
#         never edits an invoice with money on it (its correction plan credits it), so either answer holds.
# EDIT    Otherwise the POST changes what it carries: LineItems (replacing every line, priced as on create:
#         LINE, TAX, TAXTYPE, TRACKING), LineAmountTypes, CurrencyCode, Contact, Date, DueDate, Reference and
#         InvoiceNumber (unique, as on create) [S XeroAPI/Xero-Net#339: an approved invoice is updated when
#         the Status sent stays AUTHORISED]. What it leaves out stays; an empty LineItems list or Contact
#         object is left out [P spec updateInvoice example: Reference with "LineItems": [] and "Contact": {}].
#         AmountDue = Total − AmountPaid − AmountCredited [P spec Invoice.AmountDue, AmountCredited].
# VOID    A voided or deleted invoice has AmountDue 0 [P spec Invoice.AmountDue "Amount remaining to be paid"].
#         [?] its SubTotal/TotalTax/Total: kept here, as Xero's reports keep a voided invoice's value [S a
#         Xero Product Ideas request, "Voided invoices have a currency value on the Receivable Invoice
#         Summary"]; connectors.xero reports a VOIDED invoice's amounts as 0 from its Status, right either way.

CREATE_STATUSES_NEEDING_DUE_DATE = {"AUTHORISED", "SUBMITTED"}
MAX_TRACKING_PER_LINE = 2


def resolve_contact(view: TenantView, given: Any) -> dict[str, Any]:
    """The stored contact ``given`` names by ContactID (which must exist), ContactNumber or Name (a new contact
    of that name is made, as Xero does for a document naming an unknown one) [P spec Invoice.Contact]."""
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


def _tracking(view: TenantView, settings: dict[str, Any], given: Any, errors: list[str]) -> list[dict[str, Any]]:
    """The line's Tracking resolved against the organisation's categories (TRACKING above)."""
    if not given:
        return []
    if len(given) > MAX_TRACKING_PER_LINE:
        errors.append(f"A line item can have a maximum of {MAX_TRACKING_PER_LINE} tracking categories")
        return []
    refuse = settings["unknown_tracking"] == "refuse"
    kept = []
    for wanted in given:
        wanted = wanted if isinstance(wanted, dict) else {}
        category = next((c for c in tracking_bodies(view.tenant, settings)
                         if (wanted.get("TrackingCategoryID") or "").lower() == c["TrackingCategoryID"]
                         or str(wanted.get("Name") or "").strip().casefold() == c["Name"].casefold()), None)
        if category is None:
            if refuse:
                errors.append(f"Tracking category '{wanted.get('Name') or wanted.get('TrackingCategoryID')}' "
                              "does not exist or is not active")
            continue
        option = next((o for o in category["Options"]
                       if (wanted.get("TrackingOptionID") or "").lower() == o["TrackingOptionID"]
                       or str(wanted.get("Option") or "").strip().casefold() == o["Name"].casefold()), None)
        if option is None:
            if refuse:
                errors.append(f"Tracking option '{wanted.get('Option') or wanted.get('TrackingOptionID')}' does not "
                              f"exist or is not active for tracking category '{category['Name']}'")
            continue
        kept.append({"Name": category["Name"], "Option": option["Name"],
                     "TrackingCategoryID": category["TrackingCategoryID"],
                     "TrackingOptionID": option["TrackingOptionID"]})
    return kept


def _line(view: TenantView, settings: dict[str, Any], raw: dict[str, Any], amount_types: str,
          errors: list[str]) -> dict[str, Any]:
    line = {k: v for k, v in raw.items() if k not in ("ValidationErrors", "Tracking")}
    line.setdefault("LineItemID", str(uuid.uuid4()))
    quantity = read_decimal(raw.get("Quantity", 1), "Quantity")
    unit = read_decimal(raw.get("UnitAmount", 0), "UnitAmount")
    item = None
    if raw.get("ItemCode"):
        item = view.by_number("Item", str(raw["ItemCode"]))
        if item is None:
            errors.append(f"Item code '{raw['ItemCode']}' is not valid")
    sales = (item or {}).get("SalesDetails") or {}
    code = raw.get("AccountCode") or sales.get("AccountCode")
    chart = account(settings, str(code)) if code else None
    if code and chart is None:
        errors.append(f"Account code '{code}' is not a valid code for this document.")
    tax_type = (raw.get("TaxType") or ("NONE" if amount_types == "NoTax" else None)
                or sales.get("TaxType") or (chart or {}).get("TaxType") or "NONE")
    seed = tax_rate(settings, tax_type)
    if seed is None:
        errors.append(f"The TaxType code {tax_type} does not exist or cannot be used for this type of transaction.")
    elif chart and not {"REVENUE": seed.revenue, "EXPENSE": seed.expenses}.get(chart["Class"], seed.liabilities):
        errors.append(f"The TaxType code '{tax_type}' cannot be used with account code '{code}'.")
    expected = (quantity * unit).quantize(CENT, ROUND_HALF_UP)
    if raw.get("DiscountRate") is not None:
        discount = read_decimal(raw["DiscountRate"], "DiscountRate")
        expected = (expected * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP)
    if raw.get("LineAmount") is not None and read_decimal(raw["LineAmount"], "LineAmount") != expected:
        errors.append(f"The line total of {raw['LineAmount']} does not match the expected line total of {expected}.")
    rate = Decimal(0) if amount_types == "NoTax" or seed is None else seed.rate / 100
    if amount_types == "NoTax":
        tax = Decimal(0)
    elif raw.get("TaxAmount") is not None:
        tax = read_decimal(raw["TaxAmount"], "TaxAmount").quantize(CENT, ROUND_HALF_UP)
    elif amount_types == "Inclusive":
        tax = (expected * rate / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
    else:
        tax = (expected * rate).quantize(CENT, ROUND_HALF_UP)
    line.update(Quantity=quantity, UnitAmount=unit, LineAmount=expected, TaxAmount=tax, TaxType=tax_type,
                Tracking=_tracking(view, settings, raw.get("Tracking"), errors))
    if code:
        line["AccountCode"] = code
    return line


def save_invoice(view: TenantView, element: dict[str, Any], *, create_only: bool) -> tuple[dict[str, Any], list[str]]:
    """Create (PUT, or POST without InvoiceID) or update (POST with InvoiceID) one invoice."""
    return save_document(view, element, entity="Invoice", label="Invoice", create_only=create_only,
                         new=_new_invoice, updated=_updated_invoice)


def save_document(view: TenantView, element: dict[str, Any], *, entity: str, label: str, create_only: bool,
                  new: Any, updated: Any) -> tuple[dict[str, Any], list[str]]:
    """Create or update one ``entity`` (its id ``<entity>ID``, its number ``<entity>Number``): the element as
    stored and no errors, or the element marked ``HasErrors`` and its errors. ``new(view, element, errors)`` and
    ``updated(view, existing, element, errors)`` build it; an id given to a create, or unknown, is refused."""
    id_field, number_field = f"{entity}ID", f"{entity}Number"
    existing = view.get(entity, str(element[id_field])) if element.get(id_field) else None
    errors: list[str] = []
    try:
        if element.get(id_field) and (create_only or existing is None):
            raise ElementError(f"An existing {label} cannot be created again" if existing
                               else f"The {id_field} could not be found")
        document = (updated(view, existing, element, errors) if existing is not None
                    else new(view, element, errors))
    except ElementError as exc:
        errors.append(str(exc))
    if errors:
        return with_errors(element, errors, "HasErrors"), errors
    view.put(entity, document[id_field], document, number=document[number_field])
    return document, []


def _due_date(settings: dict[str, Any], contact: dict[str, Any], element: dict[str, Any], day: date,
              status: str, errors: list[str]) -> date | None:
    """DUE_DATE above: the given DueDate, else the terms when they count, else None (refused unless DRAFT)."""
    if element.get("DueDate"):
        return parse_date(element["DueDate"], "DueDate")
    terms = ((contact.get("PaymentTerms") or {}).get("Sales") or settings["default_sales_terms"]
             if settings["due_date_from_terms"] else None)
    if terms:
        return due_date_from(day, terms)
    if status in CREATE_STATUSES_NEEDING_DUE_DATE:
        errors.append("The document DueDate field must be specified.")
    return None


def dated(document: dict[str, Any], field: str, day: date | None) -> None:
    """Set ``field`` and ``{field}String`` as Xero answers dates (or drop both for None)."""
    if day is None:
        document.pop(field, None)
        document.pop(f"{field}String", None)
    else:
        document[field], document[f"{field}String"] = ms_date(day), f"{day.isoformat()}T00:00:00"


def stored_date(document: dict[str, Any], field: str) -> date | None:
    return parse_date(document[field], field) if document.get(field) else None


def priced(view: TenantView, element: dict[str, Any], status: str, errors: list[str],
           base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The amounts of an invoice or credit note: LineAmountTypes, CurrencyCode, its LineItems priced (LINE, TAX,
    TAXTYPE, TRACKING, CURRENCY above), SubTotal, TotalTax and Total; over ``base`` (the stored document of an
    update) for what ``element`` leaves out, so its stored lines are priced again under a new LineAmountTypes."""
    settings, base = view.settings(), base or {}
    amount_types = element.get("LineAmountTypes") or base.get("LineAmountTypes") or "Exclusive"
    if amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{amount_types}' is not valid")
    currency = element.get("CurrencyCode") or base.get("CurrencyCode") or settings["base_currency"]
    if currency not in currency_codes(settings):
        errors.append(f"Organisation is not subscribed to currency {currency}")
    # stored lines carry the TaxAmount computed then: drop it, or it would stand as a caller's override
    raw_lines = element.get("LineItems") or [{k: v for k, v in line.items() if k != "TaxAmount"}
                                             for line in base.get("LineItems") or []]
    if not raw_lines and status != "DRAFT":
        errors.append("At least one line item must be specified")
    lines = [_line(view, settings, raw, amount_types, errors) for raw in raw_lines]
    if status != "DRAFT" and not errors and any("AccountCode" not in line for line in lines):
        errors.append("Account code must be specified")
    line_sum = sum((line["LineAmount"] for line in lines), Decimal(0))
    tax = sum((line["TaxAmount"] for line in lines), Decimal(0))
    sub_total = line_sum - tax if amount_types == "Inclusive" else line_sum
    return {"LineAmountTypes": amount_types, "CurrencyCode": currency, "LineItems": lines,
            "SubTotal": sub_total, "TotalTax": tax, "Total": sub_total + tax}


def _new_invoice(view: TenantView, element: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    settings = view.settings()
    kind = element.get("Type")
    if kind not in INVOICE_TYPES:
        raise ElementError("The document type must be specified" if not kind else f"Invoice type '{kind}' is not valid")
    status = element.get("Status") or "DRAFT"
    if status not in CREATE_STATUSES:
        errors.append(f"Invoice status '{status}' cannot be used to create an invoice")
    amounts = priced(view, element, status, errors)
    contact = resolve_contact(view, element.get("Contact"))
    day = parse_date(element["Date"], "Date") if element.get("Date") else datetime.now(UTC).date()
    due = _due_date(settings, contact, element, day, status, errors)
    number = str(element.get("InvoiceNumber") or "") or (view.next_invoice_number() if kind == "ACCREC" else "")
    if kind == "ACCREC" and view.by_number("Invoice", number) is not None:
        errors.append("Invoice # must be unique.")
    invoice = {
        "Type": kind, "InvoiceID": str(uuid.uuid4()), "InvoiceNumber": number,
        "Reference": element.get("Reference", ""),
        "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
        "Status": status, **amounts, "AmountDue": amounts["Total"], "AmountPaid": Decimal(0),
        "AmountCredited": Decimal(0), "Payments": [], "CreditNotes": [], "CurrencyRate": Decimal(1),
        "SentToContact": False, "UpdatedDateUTC": now_ms(), "HasAttachments": False, "HasErrors": False,
        "StatusAttributeString": "OK",
    }
    dated(invoice, "Date", day)
    dated(invoice, "DueDate", due)
    return invoice


# ---- updates: MOVES, FINAL, LOCKED, EDIT above ----------------------------------------------------

MOVES = {"DRAFT": {"SUBMITTED", "AUTHORISED", "DELETED"}, "SUBMITTED": {"DRAFT", "AUTHORISED", "DELETED"},
         "AUTHORISED": {"VOIDED"}}
FINAL_STATUSES = {"VOIDED", "DELETED", "PAID"}
REPRICING = {"LineItems", "LineAmountTypes", "CurrencyCode"}  # the edits that price the lines again
LOCKED_MESSAGE = "This document cannot be edited as it has a payment or credit note allocated to it."


def not_valid_status(noun: str) -> str:
    """Xero's text for a move MOVES does not allow; [?] for a credit note, Xero's wording with its own noun."""
    return f"{noun} not of valid status for modification."


def edits_of(existing: dict[str, Any], element: dict[str, Any], number_field: str) -> list[str]:
    """The fields ``element`` would change that LOCKED keeps (empty LineItems or Contact are not changes)."""
    changed = [field for field in ("LineAmountTypes", "CurrencyCode", number_field)
               if element.get(field) and str(element[field]) != str(existing.get(field))]
    if element.get("LineItems"):
        changed.append("LineItems")
    given = element.get("Contact") if isinstance(element.get("Contact"), dict) else {}
    stored = existing.get("Contact") or {}
    if ((given.get("ContactID") and str(given["ContactID"]).lower() != str(stored.get("ContactID")).lower())
            or (not given.get("ContactID") and given.get("Name")
                and str(given["Name"]).casefold() != str(stored.get("Name", "")).casefold())):
        changed.append("Contact")
    if element.get("Date") and parse_date(element["Date"], "Date") != stored_date(existing, "Date"):
        changed.append("Date")
    return changed


def update_problems(existing: dict[str, Any], element: dict[str, Any], status: str, *, noun: str,
                    number_field: str, allocated: bool) -> list[str]:
    """Why ``element`` may not update ``existing`` to ``status`` (MOVES, FINAL, LOCKED); nothing when it may."""
    old = existing["Status"]
    if old == "PAID":
        return [not_valid_status(noun), LOCKED_MESSAGE]
    if old in FINAL_STATUSES:
        return [not_valid_status(noun)]
    if status not in UPDATE_STATUSES:
        return [f"{noun} status '{status}' is not valid"]
    if status != old and status not in MOVES.get(old, set()):
        return [not_valid_status(noun)]
    if allocated and (status == "VOIDED" or edits_of(existing, element, number_field)):
        return [LOCKED_MESSAGE]
    return []


def updated_document(view: TenantView, existing: dict[str, Any], element: dict[str, Any], status: str,
                     errors: list[str], *, kind: str, number_field: str, unique_number: bool,
                     allocated: bool) -> dict[str, Any]:
    """EDIT above for an invoice or credit note (``kind``): the stored document as ``element`` changes it, or the
    reasons it may not (added to ``errors``); the caller then sets what only its kind has (AmountDue, ...)."""
    noun = "Invoice" if kind == "Invoice" else "Credit Note"
    errors += update_problems(existing, element, status, noun=noun, number_field=number_field, allocated=allocated)
    if errors:
        return existing
    document = {**existing, "Status": status, "UpdatedDateUTC": now_ms()}
    if "Reference" in element:
        document["Reference"] = element["Reference"]
    changes = edits_of(existing, element, number_field)
    # approving a DRAFT checks its lines as a create would (at least one, each with an account)
    if REPRICING & set(changes) or (existing["Status"] == "DRAFT" and status in ("SUBMITTED", "AUTHORISED")):
        document.update(priced(view, element, status, errors, base=existing))
    if "Contact" in changes:
        contact = resolve_contact(view, element["Contact"])
        document["Contact"] = {"ContactID": contact["ContactID"], "Name": contact["Name"]}
    if number_field in changes:
        number = str(element[number_field])
        if unique_number and view.by_number(kind, number) is not None:
            errors.append(f"{noun} # must be unique.")
        document[number_field] = number
    if "Date" in changes:
        dated(document, "Date", parse_date(element["Date"], "Date"))
    if element.get("DueDate"):
        dated(document, "DueDate", parse_date(element["DueDate"], "DueDate"))
    return document


def _updated_invoice(view: TenantView, existing: dict[str, Any], element: dict[str, Any],
                     errors: list[str]) -> dict[str, Any]:
    """EDIT above for an invoice: its DueDate rule and AmountDue on top of ``updated_document``."""
    status = element.get("Status") or existing["Status"]
    invoice = updated_document(view, existing, element, status, errors, kind="Invoice", number_field="InvoiceNumber",
                               unique_number=existing["Type"] == "ACCREC",
                               allocated=bool(existing.get("Payments") or existing.get("CreditNotes")))
    # DUE_DATE holds for POST as for PUT (xeroizer#395): approving a DRAFT needs its due date by then
    if not errors and status in CREATE_STATUSES_NEEDING_DUE_DATE and not invoice.get("DueDate"):
        errors.append("The document DueDate field must be specified.")
    owed = (Decimal(str(invoice["Total"])) - Decimal(str(invoice.get("AmountPaid") or 0))
            - Decimal(str(invoice.get("AmountCredited") or 0)))
    invoice["AmountDue"] = Decimal(0) if status in ("VOIDED", "DELETED") else owed
    return invoice
