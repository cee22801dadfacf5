"""InvoiceDraft → the bare QuickBooks Online Invoice or CreditMemo JSON python-quickbooks' ``from_json`` takes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from workorders.drafts import DraftLine, InvoiceDraft
from workorders.work_order import Address

MAX_DOC_NUMBER = 21
MAX_PRIVATE_NOTE = 4000
MAX_CUSTOMER_MEMO = 1000
MAX_DESCRIPTION = 4000
MAX_ADDRESS_LINE = 500  # Intuit's PhysicalAddress: Line1-5 and City up to 500/255, PostalCode 30, Country 255
MAX_CITY = 255
MAX_POSTAL_CODE = 30


def json_number(value: Decimal) -> int | float:
    """The JSON number with exactly ``value``'s value: ``int`` when whole, else a float whose repr is exact.

    QBO wants JSON numbers, and python-quickbooks writes a Decimal as a JSON *string* ("150.00"), so the
    payload carries each amount as ``int`` or ``float(str(d))``. ``json.dumps`` writes a float as its
    shortest round-tripping repr, which for any decimal of up to 15 significant digits is that decimal
    itself (``Decimal("0.10")`` → ``0.1``), so the text on the wire is the exact amount and no arithmetic
    is ever done on the float. Raises ValueError for an amount that could not be sent exactly.
    """
    if not value.is_finite():
        raise ValueError(f"{value} is not an amount")
    if value == value.to_integral_value() and abs(value) < 2**53:
        return int(value)
    number = float(str(value))
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} has too many digits to send exactly as a JSON number")
    return number


def _line(line: DraftLine) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "ItemRef": {"value": line.item_ref},
        "Qty": json_number(line.quantity),
        "UnitPrice": json_number(line.unit_price),
        "TaxCodeRef": {"value": line.tax_code},
    }
    if line.service_date is not None:
        detail["ServiceDate"] = line.service_date.isoformat()
    return {
        "DetailType": "SalesItemLineDetail",
        "Description": line.description[:MAX_DESCRIPTION],
        "Amount": json_number(line.amount),
        "SalesItemLineDetail": detail,
    }


def _private_note(draft: InvoiceDraft) -> str:
    trace = f"Closeout {draft.work_order_id} v{draft.work_order_version}"
    room = MAX_PRIVATE_NOTE - len(trace) - 1
    return f"{draft.memo[:room]}\n{trace}" if draft.memo else trace


def _customer_memo(draft: InvoiceDraft) -> str:
    memo = f"Job {draft.doc_number}"
    if draft.po_number:
        memo += f" - PO {draft.po_number}"
    return memo[:MAX_CUSTOMER_MEMO]


def qbo_address(address: Address) -> dict[str, str]:
    """A QBO PhysicalAddress; empty parts are left out, and a postal code QBO could not hold is dropped rather
    than cut, since Automated Sales Tax reads it: a wrong one would tax the wrong place."""
    fields = {"Line1": address.line1[:MAX_ADDRESS_LINE], "Line2": address.line2[:MAX_ADDRESS_LINE],
              "City": address.city[:MAX_CITY], "CountrySubDivisionCode": address.region[:MAX_CITY],
              "PostalCode": address.postal_code if len(address.postal_code) <= MAX_POSTAL_CODE else "",
              "Country": address.country[:MAX_CITY]}
    return {name: value for name, value in fields.items() if value}


def customer_addresses(draft: InvoiceDraft) -> dict[str, dict[str, str]]:
    """A new customer's BillAddr (the billing address) and ShipAddr (the site of its first job)."""
    pairs = (("BillAddr", draft.bill_to), ("ShipAddr", draft.ship_to))
    return {name: qbo_address(address) for name, address in pairs if address is not None and qbo_address(address)}


def _sales_form(draft: InvoiceDraft, *, customer_ref: str, multicurrency: bool, form: str) -> dict[str, Any]:
    """The fields an Invoice and a CreditMemo share: both are QBO sales forms with the same CustomerRef, DocNumber,
    TxnDate, PrivateNote, CustomerMemo, SalesItemLineDetail lines, ClassRef, DepartmentRef, CurrencyRef, BillAddr and
    ShipAddr (Intuit's Invoice and CreditMemo references; python-quickbooks' objects/invoice.py and
    objects/creditmemo.py carry the same fields). ``form`` names the document in the errors."""
    if not customer_ref:
        raise ValueError(f"{form} needs the QuickBooks customer id")
    if not draft.doc_number or len(draft.doc_number) > MAX_DOC_NUMBER:
        raise ValueError(f"QuickBooks DocNumber must be 1-{MAX_DOC_NUMBER} characters, got {draft.doc_number!r}")
    if not draft.lines:
        raise ValueError(f"{form} needs at least one line")
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_ref},
        "DocNumber": draft.doc_number,
        "TxnDate": draft.txn_date.isoformat(),
        "PrivateNote": _private_note(draft),
        "CustomerMemo": {"value": _customer_memo(draft)},
        "Line": [_line(line) for line in draft.lines],
    }
    optional = {"ClassRef": draft.class_ref, "DepartmentRef": draft.department_ref,
                "CurrencyRef": draft.currency if multicurrency else None}
    body.update({name: {"value": value} for name, value in optional.items() if value})
    for name, address in (("BillAddr", draft.bill_to), ("ShipAddr", draft.ship_to)):
        if address is not None and qbo_address(address):
            body[name] = qbo_address(address)
    return body


def to_qbo_invoice(draft: InvoiceDraft, *, customer_ref: str, multicurrency: bool = False) -> dict[str, Any]:
    """The Invoice body for ``draft``, billed to the QBO customer id ``customer_ref``.

    Fields: CustomerRef, DocNumber (the job number), TxnDate, PrivateNote (the draft memo, then a
    "Closeout {work order id} v{version}" trace line; internal), CustomerMemo ("Job {doc number}[ - PO n]";
    printed on the invoice), and one SalesItemLineDetail line per draft line with ItemRef, Qty, UnitPrice,
    TaxCodeRef, ServiceDate and Amount = the draft's rounded line amount. ShipAddr is the job site: with
    Automated Sales Tax QBO taxes the invoice at it ("If a shipping address is not provided, the company
    address is considered as the destination", Intuit's AST guide), so a job across town is taxed where the
    work was done. BillAddr is the customer's billing address. DueDate (and SalesTermRef when mapped),
    ClassRef and DepartmentRef come from the mapping tables. CurrencyRef is sent only with multi-currency on
    (without it QBO refuses the field); otherwise the invoice takes the customer's currency. Raises ValueError
    for a doc number QBO would refuse (empty or over 21 characters), an empty customer ref, no lines, a due
    date before the invoice date, or an amount that cannot be sent exactly.
    """
    invoice = _sales_form(draft, customer_ref=customer_ref, multicurrency=multicurrency, form="an invoice")
    if draft.due_date is not None:
        if draft.due_date < draft.txn_date:
            raise ValueError(f"due date {draft.due_date} is before the invoice date {draft.txn_date}")
        invoice["DueDate"] = draft.due_date.isoformat()
    if draft.sales_term_ref:
        invoice["SalesTermRef"] = {"value": draft.sales_term_ref}
    return invoice


def to_qbo_credit_memo(draft: InvoiceDraft, *, customer_ref: str, multicurrency: bool = False) -> dict[str, Any]:
    """The CreditMemo body for ``draft`` (a credit: its lines are what is credited, as positive amounts), for the
    QBO customer id ``customer_ref``.

    The invoice's fields and checks (``to_qbo_invoice``) without the ones that only make sense for a bill the
    customer still has to pay: no DueDate and no SalesTermRef (a credit is not due; python-quickbooks' CreditMemo
    has a SalesTermRef slot, but nothing is owed on it). Lines carry the same TaxCodeRef and the ShipAddr is the
    job site, so Automated Sales Tax credits the tax the invoice charged. The original invoice is named by the
    connector, which knows its number (``connectors.qbo.QuickBooksLedger.create_credit_note``).
    """
    return _sales_form(draft, customer_ref=customer_ref, multicurrency=multicurrency, form="a credit memo")
