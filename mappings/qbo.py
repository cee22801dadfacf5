"""InvoiceDraft → the bare QuickBooks Online Invoice JSON that python-quickbooks' ``Invoice.from_json`` takes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from workorders.drafts import DraftLine, InvoiceDraft

MAX_DOC_NUMBER = 21
MAX_PRIVATE_NOTE = 4000
MAX_CUSTOMER_MEMO = 1000
MAX_DESCRIPTION = 4000


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


def to_qbo_invoice(draft: InvoiceDraft, *, customer_ref: str) -> dict[str, Any]:
    """The Invoice body for ``draft``, billed to the QBO customer id ``customer_ref``.

    Fields: CustomerRef, DocNumber (the job number), TxnDate, PrivateNote (the draft memo, then a
    "Closeout {work order id} v{version}" trace line; internal), CustomerMemo ("Job {doc number}[ - PO n]";
    printed on the invoice), and one SalesItemLineDetail line per draft line with ItemRef, Qty, UnitPrice,
    TaxCodeRef, ServiceDate and Amount = the draft's rounded line amount. Currency is left to the
    customer's QBO currency. Raises ValueError for a doc number QBO would refuse (empty or over 21
    characters), an empty customer ref, no lines, or an amount that cannot be sent exactly.
    """
    if not customer_ref:
        raise ValueError("an invoice needs the QuickBooks customer id")
    if not draft.doc_number or len(draft.doc_number) > MAX_DOC_NUMBER:
        raise ValueError(f"QuickBooks DocNumber must be 1-{MAX_DOC_NUMBER} characters, got {draft.doc_number!r}")
    if not draft.lines:
        raise ValueError("an invoice needs at least one line")
    return {
        "CustomerRef": {"value": customer_ref},
        "DocNumber": draft.doc_number,
        "TxnDate": draft.txn_date.isoformat(),
        "PrivateNote": _private_note(draft),
        "CustomerMemo": {"value": _customer_memo(draft)},
        "Line": [_line(line) for line in draft.lines],
    }
