"""Xero Payments in the sandbox: apply a payment to an AUTHORISED invoice, raising AmountPaid until it is PAID."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.xero_entities import CENT, ElementError, ms_date, now_ms, parse_date, read_decimal, with_errors
from sandbox.xero_org import account_bodies
from sandbox.xero_schema import envelope_problems
from sandbox.xero_store import TenantView

# The rules, each with its source ([P] Xero's page or the spec xero_accounting.yaml, [S] a third party, [?]
# unknown and how Closeout stays safe under either answer):
#
# SCHEMA   The body is checked against the spec's Payments envelope ({"Payments": [Payment]}, spec
#          components/schemas/Payments; the extracted schema file holds Payment, not the envelope) [P].
# INVOICE  Invoice.InvoiceID or Invoice.InvoiceNumber, or the element's InvoiceNumber [P spec Payment.Invoice,
#          Payment.InvoiceNumber]. [?] The text for an invoice that does not exist: the sandbox's own.
# STATUS   Only an AUTHORISED invoice takes a payment: "Payments can only be made against Authorised
#          documents" [S Xero's text as integrators quote it: docs.workato.com Xero errors, Invoice Ninja's
#          Xero guide, HireHop]; so DRAFT, SUBMITTED, VOIDED, DELETED and PAID invoices are refused.
# AMOUNT   "Must be less than or equal to the outstanding amount owing on the invoice" [P spec Payment.Amount];
#          more → "Payment amount exceeds the amount outstanding on this document" [P spec createPayments
#          example ValidationErrors]. [?] Zero or less: the text is the sandbox's own (refused: safe).
# ACCOUNT  Account.AccountID or Account.Code, or the element's Code [P spec Payment.Account, Payment.Code]. It
#          "needs to be either an account of type BANK or have enable payments to this accounts switched on"
#          [S pipedream xero create-payment, quoting Xero's Payments page]. [?] Both refusal texts are the
#          sandbox's own.
# EFFECT   The answer: PaymentID, Status AUTHORISED, PaymentType ACCRECPAYMENT (ACCPAYPAYMENT for a bill),
#          Amount, BankAmount, CurrencyRate, Date, Account and the invoice as it now stands [P spec
#          createPayments example]. The invoice's AmountPaid rises, AmountDue falls, its Payments lists the
#          payment [P spec Invoice.Payments, AmountPaid, AmountDue], and at AmountDue 0 its Status is PAID
#          [P developer.xero.com/documentation/api/accounting/types#invoices "PAID: Invoices approved and fully
#          paid"] with FullyPaidOnDate the payment's date [P spec Invoice.FullyPaidOnDate].
# DATE     Date as sent ("YYYY-MM-DD" or /Date()/) [P spec Payment.Date]; [?] without one, today.
# UPDATE   Changing or deleting a stored payment (POST with PaymentID, Status DELETED) is not served.

PAYMENT_TYPES = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT"}  # [P spec Payment.PaymentType]
_SUMMARY = ("Type", "InvoiceID", "InvoiceNumber", "Reference", "Contact", "Status", "LineAmountTypes", "SubTotal",
            "TotalTax", "Total", "AmountDue", "AmountPaid", "CurrencyCode", "CurrencyRate", "Date", "DateString",
            "DueDate", "DueDateString", "FullyPaidOnDate", "UpdatedDateUTC", "HasErrors")


def payment_problems(body: Any) -> list[str]:
    """Every way ``body`` breaks the spec's Payments envelope (SCHEMA above), as sandbox.xero_schema words them."""
    return envelope_problems("Payments", "Payment", body)


def _invoice(view: TenantView, element: dict[str, Any]) -> dict[str, Any]:
    """INVOICE and STATUS above."""
    given = element.get("Invoice") if isinstance(element.get("Invoice"), dict) else {}
    number = given.get("InvoiceNumber") or element.get("InvoiceNumber")
    found = (view.get("Invoice", str(given["InvoiceID"])) if given.get("InvoiceID")
             else view.by_number("Invoice", str(number)) if number else None)
    if found is None:
        raise ElementError("The invoice could not be found" if given.get("InvoiceID") or number
                           else "The payment must name an Invoice by InvoiceID or InvoiceNumber")
    if found["Status"] != "AUTHORISED" or found["Type"] not in PAYMENT_TYPES:
        raise ElementError("Payments can only be made against Authorised documents")
    return found


def _account(view: TenantView, element: dict[str, Any]) -> dict[str, Any]:
    """ACCOUNT above."""
    given = element.get("Account") if isinstance(element.get("Account"), dict) else {}
    ident, code = str(given.get("AccountID") or "").lower(), given.get("Code") or element.get("Code")
    chart = account_bodies(view.tenant, view.settings())
    found = next((a for a in chart if (ident and a["AccountID"] == ident) or (not ident and a["Code"] == code)), None)
    if found is None:
        raise ElementError(f"The account {given.get('AccountID') or code or '(none given)'} could not be found")
    if found["Type"] != "BANK" and not found.get("EnablePaymentsToAccount"):
        raise ElementError(f"Account {found['Code']} is not a bank account and does not accept payments "
                           "(EnablePaymentsToAccount)")
    return found


def _amount(element: dict[str, Any]) -> Decimal:
    """AMOUNT above, the part that needs no invoice."""
    if element.get("Amount") is None:
        raise ElementError("The payment Amount must be specified")
    amount = read_decimal(element["Amount"], "Amount").quantize(CENT, ROUND_HALF_UP)
    if amount <= 0:
        raise ElementError("The payment Amount must be greater than zero")
    return amount


def _collect(errors: list[str], check: Any, *args: Any) -> Any:
    """``check(*args)``, or None with its message added to ``errors``: Xero lists every problem at once."""
    try:
        return check(*args)
    except ElementError as exc:
        errors.append(str(exc))
        return None


def _checked(view: TenantView, element: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Decimal, list[str]]:
    """The invoice, account and amount of ``element``, with every message that refuses it."""
    errors: list[str] = []
    invoice = _collect(errors, _invoice, view, element)
    account = _collect(errors, _account, view, element)
    amount = _collect(errors, _amount, element)
    if invoice is not None and amount is not None and amount > Decimal(str(invoice["AmountDue"])):
        errors.append("Payment amount exceeds the amount outstanding on this document")
    return invoice or {}, account or {}, amount or Decimal(0), errors


def _paid_invoice(invoice: dict[str, Any], payment: dict[str, Any], day: Any) -> dict[str, Any]:
    """EFFECT above: the invoice with the payment counted."""
    due = Decimal(str(invoice["AmountDue"])) - payment["Amount"]
    listed = {k: payment[k] for k in ("PaymentID", "Date", "Amount", "Reference", "CurrencyRate", "HasAccount",
                                      "HasValidationErrors")}
    paid = {**invoice, "AmountDue": due, "AmountPaid": Decimal(str(invoice.get("AmountPaid") or 0)) + payment["Amount"],
            "Payments": [*(invoice.get("Payments") or []), listed], "UpdatedDateUTC": now_ms()}
    if due == 0:
        paid.update(Status="PAID", FullyPaidOnDate=ms_date(day))
    return paid


def save_payment(view: TenantView, element: dict[str, Any], *, create_only: bool) -> tuple[dict[str, Any], list[str]]:
    """Create one payment (PUT or POST /Payments) and apply it to its invoice; the sandbox.xero_entities contract."""
    if element.get("PaymentID"):
        message = "The sandbox does not change or delete payments; create a new one instead"
        return with_errors(element, [message], "HasValidationErrors"), [message]
    invoice, account, amount, errors = _checked(view, element)
    try:
        day = parse_date(element["Date"], "Date") if element.get("Date") else datetime.now(UTC).date()
    except ElementError as exc:
        errors.append(str(exc))
    if errors:
        return with_errors(element, errors, "HasValidationErrors"), errors
    payment = {"PaymentID": str(uuid.uuid4()), "Date": ms_date(day), "Amount": amount, "BankAmount": amount,
               "CurrencyRate": Decimal(str(invoice.get("CurrencyRate") or 1)), "Reference": element.get("Reference", ""),
               "PaymentType": PAYMENT_TYPES[invoice["Type"]], "Status": "AUTHORISED", "IsReconciled": False,
               "HasAccount": True, "HasValidationErrors": False, "UpdatedDateUTC": now_ms(),
               "Account": {"AccountID": account["AccountID"], "Code": account["Code"], "Name": account["Name"]}}
    paid = _paid_invoice(invoice, payment, day)
    view.put("Invoice", paid["InvoiceID"], paid, number=paid["InvoiceNumber"])
    payment["Invoice"] = {k: paid[k] for k in _SUMMARY if k in paid}
    view.put("Payment", payment["PaymentID"], payment)
    return payment, []
