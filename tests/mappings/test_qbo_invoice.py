"""An InvoiceDraft maps to the bare QBO Invoice JSON, with amounts that are exact JSON numbers."""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

# The development virtualenv does not install Closeout; see tests/storage/conftest.py.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from mappings.qbo import json_number, to_qbo_invoice  # noqa: E402
from workorders.drafts import DraftLine, InvoiceDraft  # noqa: E402

LABOUR = DraftLine(description="Labour, 2 techs", quantity="2.5", unit_price="95.00", item_ref="1", tax_code="NON",
                   service_date=date(2025, 2, 28))
PART = DraftLine(description="Valve", quantity="3", unit_price="33.333", item_ref="2", tax_code="TAX", kind="part")


def draft(**changes: object) -> InvoiceDraft:
    fields: dict[str, object] = dict(
        company="acme", ledger="quickbooks", work_order_id="jobber:881", work_order_version=3,
        customer_name="Acme", doc_number="WO-1001", txn_date=date(2025, 3, 1), currency="USD",
        memo="Replaced the valve", po_number="PO-77", lines=(LABOUR, PART))
    fields.update(changes)
    return InvoiceDraft(**fields)  # type: ignore[arg-type]


def test_the_invoice_carries_customer_doc_number_date_memos_and_lines() -> None:
    payload = to_qbo_invoice(draft(), customer_ref="58")
    assert payload["CustomerRef"] == {"value": "58"}
    assert (payload["DocNumber"], payload["TxnDate"]) == ("WO-1001", "2025-03-01")
    assert payload["PrivateNote"] == "Replaced the valve\nCloseout jobber:881 v3"
    assert payload["CustomerMemo"] == {"value": "Job WO-1001 - PO PO-77"}
    assert payload["Line"][0] == {
        "DetailType": "SalesItemLineDetail", "Description": "Labour, 2 techs", "Amount": 237.5,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 2.5, "UnitPrice": 95,
                                "TaxCodeRef": {"value": "NON"}, "ServiceDate": "2025-02-28"}}
    assert "ServiceDate" not in payload["Line"][1]["SalesItemLineDetail"]
    assert payload["Line"][1]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}


def test_amounts_on_the_wire_are_exactly_the_drafts_decimals() -> None:
    payload = to_qbo_invoice(draft(), customer_ref="58")
    wire = json.loads(json.dumps(payload), parse_float=Decimal)
    assert [Decimal(line["Amount"]) for line in wire["Line"]] == [line.amount for line in draft().lines]
    assert sum(Decimal(line["Amount"]) for line in wire["Line"]) == draft().total == Decimal("337.50")
    assert wire["Line"][1]["SalesItemLineDetail"]["UnitPrice"] == Decimal("33.333")


@pytest.mark.parametrize("amount, text", [
    ("0.10", "0.1"), ("0.07", "0.07"), ("150.00", "150"), ("-25.50", "-25.5"), ("1234567890123.45", "1234567890123.45"),
])
def test_json_number_writes_the_decimal_digit_for_digit(amount: str, text: str) -> None:
    assert json.dumps(json_number(Decimal(amount))) == text


def test_an_amount_with_more_digits_than_json_can_carry_exactly_is_refused() -> None:
    with pytest.raises(ValueError, match="too many digits"):
        json_number(Decimal("12345678901234.567"))


def test_without_memo_or_po_the_notes_still_trace_the_work_order() -> None:
    payload = to_qbo_invoice(draft(memo="", po_number=None), customer_ref="58")
    assert payload["PrivateNote"] == "Closeout jobber:881 v3"
    assert payload["CustomerMemo"] == {"value": "Job WO-1001"}


def test_an_overlong_memo_is_cut_to_qbos_limit_keeping_the_trace() -> None:
    payload = to_qbo_invoice(draft(memo="x" * 5000), customer_ref="58")
    assert len(payload["PrivateNote"]) == 4000 and payload["PrivateNote"].endswith("Closeout jobber:881 v3")


@pytest.mark.parametrize("changes, customer_ref", [
    ({"doc_number": "W" * 22}, "58"), ({"doc_number": ""}, "58"), ({"lines": ()}, "58"), ({}, ""),
])
def test_what_qbo_would_refuse_is_a_clear_value_error(changes: dict, customer_ref: str) -> None:
    with pytest.raises(ValueError):
        to_qbo_invoice(draft(**changes), customer_ref=customer_ref)
