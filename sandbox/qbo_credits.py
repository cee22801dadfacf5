"""Void QBO invoices (``POST …/invoice?operation=void``) and create CreditMemos priced like an invoice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sandbox.qbo_entities import VOIDED, active_customer, address_or, check_doc_number, clean, doc_number, is_voided
from sandbox.qbo_entities import new_document, payments_on, price_lines, sales_lines, stale_fault, store_entity
from sandbox.qbo_fields import business_fault, read_currency, read_date
from sandbox.qbo_payments import WRITABLE as PAYMENT_WRITABLE, save_document as save_payment_or_entity
from sandbox.qbo_schema import check_fields
from sandbox.qbo_store import RealmView
from sandbox.qbo_wire import QboFault, not_found, required

# The rules, each with its source ([?] = not documented, and the answer the sandbox picks):
#
# VOID REQUEST  python-quickbooks' Invoice.void (quickbooks/mixins.py VoidMixin) POSTs {"Id", "SyncToken"}
#           to …/invoice with params operation=void; Intuit documents the same call ("include a minimum of
#           Invoice.Id and the current Invoice.SyncToken", Intuit's Invoice reference, "Void an invoice",
#           as quoted by brilliantconnect.com/functions/quickbooks_online-void_invoice). No Id → 2020; an
#           unknown Id → 610; a SyncToken that is not the current one → 5010, as for any update (ledgers.md §1.2).
# VOID EFFECT "The transaction remains active but all amounts and quantities are zeroed and the string
#           “Voided” is injected into Invoice.PrivateNote, prepended to existing text if present" (the
#           Invoice reference, above); Intuit's blog "Voiding Invoice Objects" (blogs.intuit.com/2016/04/06/
#           voiding-invoice-objects) shows the voided invoice: each Line Amount 0, the SubTotal line 0,
#           TxnTaxDetail {TotalTax: 0}, Deposit 0, PrivateNote "Voided". So Line Amount, Qty, TotalAmt,
#           Balance, Deposit and TotalTax become 0 (TaxLine dropped); the invoice is still read by id and
#           query; it is stored as a change, so its SyncToken goes up by one. [?] The separator between
#           "Voided" and an existing note is not documented: the sandbox writes "Voided - <note>".
# VOID PAID [?] Voiding an invoice with a Payment applied: Intuit's API pages say nothing (third-party tool
#           descriptions claim QBO refuses it, glama.ai WYRE-AI/qbo-mcp qbo_invoices_void). The sandbox
#           refuses it with 6000 (safe: a void must not silently turn received money into unapplied credit).
# VOID TWICE [?] Voiding an already voided invoice (TotalAmt 0 and a note starting "Voided"): not documented;
#           refused with 6000 (safe: a repeated void must not stack "Voided" notes or look like new work).
# VOID ONLY  Other operations than create/update/void stay 500 Unsupported Operation (sandbox.qbo_app).
#
# CM CREATE python-quickbooks' CreditMemo (quickbooks/objects/creditmemo.py) carries CustomerRef, Line[]
#           (SalesItemLineDetail, as on an Invoice: the SDK uses one DetailLine/SalesItemLine class for both),
#           DocNumber, TxnDate, PrivateNote. CustomerRef and Line are required, as on an invoice [?] (Intuit's
#           CreditMemo reference is not in the reference set; the Invoice rules are the safe guess): no
#           CustomerRef → 2020, an unknown or inactive customer → 2500, no line → 6000, a bad item → 2500,
#           Amount ≠ Qty × UnitPrice → 6070, DocNumber over 21 → 2050, an unknown field → 2010 (qbo_schema).
# CM TOTAL  Lines are priced and taxed exactly as an invoice's (sandbox.qbo_entities.price_lines: AST by the
#           ShipAddr, else the customer's, else the company address); TotalAmt includes the tax.
# CM BALANCE A new credit memo has applied nothing yet, so Balance = RemainingCredit = TotalAmt. Balance is
#           "The balance reflecting any payments made against the transaction. Read Only" (CreditMemo field
#           list, docs.breadwinner.com/quickbooks/credit-memo); [?] RemainingCredit's value is not documented
#           in what is at hand (the SDK has the field): the sandbox gives the whole credit, nothing applied.
# CM DOCNUMBER Invoices and credit memos share one number space (sandbox.qbo_entities.check_doc_number): QBO
#           refuses an invoice whose number a credit memo has (6140 "… assigned to TxnType=Credit Memo",
#           support.jobboxsoft.com KB 19000156890). [?] Whether it refuses a CreditMemo whose number an invoice or
#           another credit memo has is not documented; the sandbox does, with 6140 (safe: a retried create cannot
#           leave two credits for one refund, and Closeout looks a credit up by number before resending).
# CM APPLY  A credit memo is not linked to an invoice when it is created: QBO applies a credit to an invoice
#           through a Payment that links both ("create a zero-dollar payment, which is the link between the
#           Credit Memo and the Invoice", docs.breadwinner.com/quickbooks/applying-credit-to-an-invoice). So
#           creating one leaves every invoice's Balance as it was; the sandbox's Payments link invoices only
#           (sandbox.qbo_payments), so applying a credit is not served.
# CM UPDATE Changing a stored CreditMemo is not served (500 Unsupported Operation, as for Payment).
# VOID EDIT [?] An update of a voided invoice: not documented; refused with 6000 (sandbox.qbo_entities.save_entity).

WRITABLE = (*PAYMENT_WRITABLE, "CreditMemo")
_ZERO = Decimal("0")
_IGNORED = ("Id", "SyncToken", "sparse", "domain", "MetaData", "TotalAmt", "Balance", "HomeBalance",
            "RemainingCredit", "TxnTaxDetail")


def _voided_line(line: dict[str, Any]) -> dict[str, Any]:
    """One stored line with its amount and quantity zeroed (VOID EFFECT)."""
    out = {**line, "Amount": _ZERO}
    detail = line.get("SalesItemLineDetail")
    if detail is not None:
        out["SalesItemLineDetail"] = {**detail, "Qty": _ZERO,
                                      **({"TaxInclusiveAmt": _ZERO} if "TaxInclusiveAmt" in detail else {})}
    return out


def void_invoice(view: RealmView, body: Any) -> dict[str, Any]:
    """Void one invoice (the VOID rules above); return it as stored."""
    if not isinstance(body, dict):
        raise QboFault("2010", "Request has invalid or unsupported property", "The body must be an Invoice object")
    check_fields("Invoice", body)
    data = clean(body)
    ident = data.get("Id")
    if ident in (None, 0, "0"):
        raise required("Id")
    existing = view.get("Invoice", str(ident))
    if existing is None:
        raise not_found("Invoice", str(ident))
    if str(data.get("SyncToken", "")) != existing["SyncToken"]:
        raise stale_fault()
    paid, _ = payments_on(view, existing["Id"])
    if paid:
        raise business_fault(f"Invoice {existing['Id']} has {paid} in payments applied; it cannot be voided.",
                             "Id")
    note = existing.get("PrivateNote")
    if is_voided(existing):
        raise business_fault(f"Invoice {existing['Id']} is already voided.", "Id")
    result = {**existing, "Line": [_voided_line(line) for line in existing.get("Line", [])],
              "TxnTaxDetail": {"TotalTax": _ZERO}, "TotalAmt": _ZERO, "Balance": _ZERO, "Deposit": _ZERO,
              "PrivateNote": f"{VOIDED} - {note}" if note else VOIDED}
    return store_entity(view, "Invoice", result, existing)


def _credit_memo(view: RealmView, data: dict[str, Any]) -> dict[str, Any]:
    """The CreditMemo to store (the CM rules above)."""
    customer_id, customer = active_customer(view, data)
    lines, taxes = sales_lines(view, data)
    doc = doc_number(data)
    check_doc_number(view, doc, entity="CreditMemo", ident=None, params={})
    ship = address_or(data, "ShipAddr", customer.get("ShipAddr"))
    bill = address_or(data, "BillAddr", customer.get("BillAddr"))
    subtotal_line, tax, total = price_lines(lines, taxes, ship)
    return {"PrintStatus": "NotSet", "EmailStatus": "NotSet", **data,
            "CustomerRef": {"value": customer_id, "name": customer["DisplayName"]},
            "CurrencyRef": read_currency(view, data), "DocNumber": doc,
            "TxnDate": read_date(data.get("TxnDate"), "TxnDate") or date.today().isoformat(),
            "ShipAddr": ship, "BillAddr": bill, "Line": [*lines, subtotal_line], "TxnTaxDetail": tax,
            "TotalAmt": total, "Balance": total, "RemainingCredit": total, "GlobalTaxCalculation": taxes.mode}


def save_credit_memo(view: RealmView, body: Any) -> dict[str, Any]:
    """Create one CreditMemo (CM UPDATE: no Id); return it as stored."""
    fields = new_document("CreditMemo", body, _IGNORED)
    return store_entity(view, "CreditMemo", _credit_memo(view, fields), None)


def save_document(view: RealmView, entity: str, body: Any, params: dict[str, str]) -> dict[str, Any]:
    """Create or update any of ``WRITABLE``: a CreditMemo here, the others in sandbox.qbo_payments."""
    if entity == "CreditMemo":
        return save_credit_memo(view, body)
    return save_payment_or_entity(view, entity, body, params)
