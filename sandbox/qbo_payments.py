"""Create QBO Payments against invoices: each linked invoice's Balance drops by its line's Amount."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sandbox.qbo_entities import WRITABLE as ENTITY_WRITABLE, active_customer, new_document, payments_on, save_entity
from sandbox.qbo_entities import store_entity
from sandbox.qbo_fields import business_fault, read_currency, read_date, read_decimal, read_ref
from sandbox.qbo_store import RealmView
from sandbox.qbo_wire import QboFault, invalid_reference, required

# The rules, each with its source (Intuit's Payment reference: developer.intuit.com/app/developer/qbo/docs/
# api/accounting/all-entities/payment; [?] = not documented, and the answer the sandbox picks):
#
# REQUIRED  CustomerRef and TotalAmt are the Payment's required fields (Intuit's Payment reference) → 2020.
# CUSTOMER  CustomerRef must name an active customer → 2500, as for an invoice (ledgers.md §1.2).
# LINKS     Each Line applies its Amount to the transactions in its LinkedTxn (Intuit's Payment sample, gist
#           IntuitDeveloperRelations/e0f09cdb48f23308d9c30d2aaf7360ad: Line Amount 55 LinkedTxn TxnId 70
#           TxnType Invoice). The sandbox serves TxnType Invoice only (CreditMemo → 2010); an unknown
#           invoice → 2500 Invalid Reference Id (ledgers.md §1.2, the code QBO gives any missing reference).
# OWNER     [?] An invoice of another customer: the Fault is not documented; refused with 6000 (safe: money
#           from one customer must not clear another's invoice).
# BALANCE   [?] A line over the invoice's remaining Balance: QBO's answer is not documented; refused with
#           6000 (safe: Closeout reads Balance back and must never see it below zero).
# POSITIVE  [?] A TotalAmt or line Amount of zero or less: not documented; refused with 6000.
# APPLIED   TotalAmt above the lines' sum leaves the rest as UnappliedAmt (the gist: TotalAmt 65, one line 55,
#           UnappliedAmt 10). [?] Lines summing to more than TotalAmt: not documented; refused with 6000.
# EFFECT    The invoice's Balance drops, TotalAmt stays, and it gains LinkedTxn {TxnId: payment, TxnType:
#           Payment} (Intuit's "Manage linked transactions"). [?] Whether QBO bumps the invoice's SyncToken:
#           the sandbox does (safe: a client holding the old invoice must re-read it before it edits).
# UPDATE    Changing or deleting a stored Payment is not served (500 Unsupported Operation, as other
#           operations the sandbox lacks).

WRITABLE = (*ENTITY_WRITABLE, "Payment")


def _positive(value: Any, element: str) -> Decimal:
    """A required money amount above zero (POSITIVE above)."""
    amount = read_decimal(value, element)
    if amount is None:
        raise required(element)
    if amount <= 0:
        raise business_fault(f"The amount {amount} must be greater than zero.", element)
    return amount


def _invoice_link(line: dict[str, Any]) -> str:
    """The one Invoice a payment line applies to (LINKS above)."""
    links = line.get("LinkedTxn") or []
    if not links:
        raise required("Line.LinkedTxn")
    if len(links) != 1 or links[0].get("TxnType") != "Invoice":
        raise QboFault("2010", "Request has invalid or unsupported property",
                       "The sandbox applies each payment line to exactly one LinkedTxn of TxnType Invoice",
                       element="Line.LinkedTxn")
    ident = str(links[0].get("TxnId") or "")
    if not ident:
        raise required("Line.LinkedTxn.TxnId")
    return ident


def _apply(view: RealmView, customer_id: str, line: dict[str, Any], left: dict[str, Decimal]) -> dict[str, Any]:
    """Check one line against its invoice (OWNER, BALANCE); lower ``left``, the balances this payment leaves."""
    amount = _positive(line.get("Amount"), "Line.Amount")
    ident = _invoice_link(line)
    invoice = view.get("Invoice", ident)
    if invoice is None:
        raise invalid_reference("Invoice", ident, "Line.LinkedTxn.TxnId")
    if read_ref(invoice.get("CustomerRef")) != customer_id:
        raise business_fault(f"Invoice {ident} belongs to another customer than the payment's.", "Line.LinkedTxn.TxnId")
    balance = left.setdefault(ident, Decimal(str(invoice["Balance"])))
    if amount > balance:
        raise business_fault(f"The amount {amount} applied to invoice {ident} is more than its open balance {balance}.",
                        "Line.Amount")
    left[ident] = balance - amount
    return {"Amount": amount, "LinkedTxn": [{"TxnId": ident, "TxnType": "Invoice"}]}


def _payment(view: RealmView, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Decimal]]:
    """The Payment to store and the invoices' new balances (the rules above)."""
    customer_id, customer = active_customer(view, data)
    total = _positive(data.get("TotalAmt"), "TotalAmt")
    left: dict[str, Decimal] = {}
    lines = [_apply(view, customer_id, raw, left) for raw in data.get("Line") or []]
    applied = sum((line["Amount"] for line in lines), Decimal("0"))
    if applied > total:
        raise business_fault(f"The lines apply {applied}, more than the payment's TotalAmt {total}.", "TotalAmt")
    payment = {**data, "CustomerRef": {"value": customer_id, "name": customer["DisplayName"]},
               "CurrencyRef": read_currency(view, data), "TotalAmt": total, "UnappliedAmt": total - applied,
               "TxnDate": read_date(data.get("TxnDate"), "TxnDate") or date.today().isoformat(), "Line": lines}
    return payment, left


def _relink(view: RealmView, ident: str, balance: Decimal) -> None:
    """Store the invoice with its lowered Balance and a LinkedTxn for each payment on it (EFFECT above)."""
    invoice = view.get("Invoice", ident)
    assert invoice is not None
    _, links = payments_on(view, ident)
    others = [link for link in invoice.get("LinkedTxn") or [] if link.get("TxnType") != "Payment"]
    store_entity(view, "Invoice", {**invoice, "Balance": balance, "LinkedTxn": others + links}, invoice)


def save_payment(view: RealmView, body: Any) -> dict[str, Any]:
    """Create one Payment (UPDATE above: no Id) and apply its lines to their invoices; return it as stored."""
    fields = new_document("Payment", body, ("Id", "SyncToken", "sparse", "domain", "MetaData", "UnappliedAmt"))
    payment, balances = _payment(view, fields)
    saved = store_entity(view, "Payment", payment, None)
    for ident, balance in balances.items():
        _relink(view, ident, balance)
    return saved


def save_document(view: RealmView, entity: str, body: Any, params: dict[str, str]) -> dict[str, Any]:
    """Create or update any of ``WRITABLE``: a Payment here, the others in sandbox.qbo_entities."""
    return save_payment(view, body) if entity == "Payment" else save_entity(view, entity, body, params)
