"""A credit's InvoiceDraft maps to QBO CreditMemo JSON: an invoice's sales fields without what only a bill has."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from quickbooks.objects.creditmemo import CreditMemo

from mappings.qbo import to_qbo_credit_memo, to_qbo_invoice
from tests.mappings.test_qbo_invoice import draft
from workorders.work_order import Address

SITE = Address(line1="600 Hennepin Ave", city="Minneapolis", region="MN", postal_code="55403", country="US")
BILLING = Address(line1="PO Box 12", city="St. Paul", region="MN", postal_code="55101", country="US")


def credit(**changes: object):
    fields: dict[str, object] = dict(doc_number="WO-1001-CR", due_date=date(2025, 3, 31), sales_term_ref="3",
                                     class_ref="200", department_ref="2", bill_to=BILLING, ship_to=SITE)
    fields.update(changes)
    return draft(**fields)


def test_a_credit_memo_carries_the_invoices_customer_number_date_notes_lines_and_addresses() -> None:
    memo = to_qbo_credit_memo(credit(), customer_ref="58")
    invoice = to_qbo_invoice(credit(), customer_ref="58")
    shared = ("CustomerRef", "DocNumber", "TxnDate", "PrivateNote", "CustomerMemo", "Line", "ClassRef",
              "DepartmentRef", "BillAddr", "ShipAddr")
    assert {name: memo[name] for name in shared} == {name: invoice[name] for name in shared}
    assert memo["DocNumber"] == "WO-1001-CR" and memo["CustomerRef"] == {"value": "58"}
    assert memo["PrivateNote"].endswith("Closeout jobber:881 v3")
    assert [line["SalesItemLineDetail"]["TaxCodeRef"] for line in memo["Line"]] == [{"value": "NON"}, {"value": "TAX"}]
    assert memo["ShipAddr"]["City"] == "Minneapolis" and memo["BillAddr"]["City"] == "St. Paul"


def test_a_credit_memo_has_no_due_date_or_terms_because_nothing_is_owed_on_it() -> None:
    memo = to_qbo_credit_memo(credit(), customer_ref="58")
    assert "DueDate" not in memo and "SalesTermRef" not in memo
    assert set(memo) <= set(to_qbo_invoice(credit(), customer_ref="58"))


def test_a_credit_memo_names_its_currency_only_when_the_company_has_multicurrency_on() -> None:
    assert "CurrencyRef" not in to_qbo_credit_memo(credit(), customer_ref="58")
    assert to_qbo_credit_memo(credit(), customer_ref="58", multicurrency=True)["CurrencyRef"] == {"value": "USD"}


def test_every_credit_memo_field_is_one_python_quickbooks_knows_and_amounts_stay_exact() -> None:
    memo = to_qbo_credit_memo(credit(), customer_ref="58")
    sdk_fields = set(CreditMemo().__dict__) | set(CreditMemo.class_dict) | set(CreditMemo.list_dict)
    assert set(memo) <= sdk_fields
    wire = json.loads(CreditMemo.from_json(memo).to_json(), parse_float=Decimal)
    assert sum(Decimal(str(line["Amount"])) for line in wire["Line"]) == credit().total == Decimal("337.50")


@pytest.mark.parametrize("changes, customer_ref", [
    ({"doc_number": "C" * 22}, "58"), ({"doc_number": ""}, "58"), ({"lines": ()}, "58"), ({}, ""),
])
def test_a_credit_memo_qbo_would_refuse_is_a_clear_value_error(changes: dict, customer_ref: str) -> None:
    with pytest.raises(ValueError, match="credit memo|DocNumber"):
        to_qbo_credit_memo(credit(**changes), customer_ref=customer_ref)
