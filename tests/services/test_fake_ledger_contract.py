"""One Ledger behaviour suite on FakeLedger and on the real QBO and Xero adapters over the sandbox: the fake earns its trust."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.errors import RejectedError
from connectors.qbo import QuickBooksLedger
from connectors.xero import XeroLedger
from mappings.qbo import to_qbo_invoice
from mappings.xero import to_xero_invoice
from sandbox.server import running_sandbox
from services.push.pusher import DUPLICATE_CODES, DUPLICATE_NAME_CODES
from tests.fakes import FakeLedger
from workorders.drafts import DraftLine, InvoiceDraft

TOKEN = "fake-ledger-contract-token"
ITEMS = {"quickbooks": ("1", "NON"), "xero": ("LABOUR", "NONE")}  # an item and an exempt tax code the sandbox seeds


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_sandbox(tmp_path_factory.mktemp("fake-ledger-contract")) as url:
        yield url


@pytest.fixture(params=["fake-quickbooks", "fake-xero", "quickbooks", "xero"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param.startswith("fake-"):
        kind = request.param.removeprefix("fake-")
        yield FakeLedger(kind, max_batch=30 if kind == "quickbooks" else 50)
        return
    url = request.getfixturevalue("sandbox_url")
    if request.param == "quickbooks":
        real: Any = QuickBooksLedger(base_url=f"{url}/v3", realm_id=f"9341{uuid.uuid4().int % 10**12:012d}",
                                     access_token=TOKEN, timeout=5.0)
    else:
        real = XeroLedger(base_url=f"{url}/api.xro/2.0", tenant_id=str(uuid.uuid4()), access_token=TOKEN, timeout=5.0)
    yield real
    real.close()


def payload(ledger: Any, doc: str, customer: str, *, price: str = "95.00") -> dict[str, Any]:
    item, exempt = ITEMS[ledger.name]
    draft = InvoiceDraft(company="acme", ledger=ledger.name, work_order_id=f"csv:{doc}", work_order_version=1,
                         customer_name="Acme", doc_number=doc, txn_date=date(2026, 3, 1), due_date=date(2026, 3, 21),
                         currency="USD" if ledger.name == "quickbooks" else "NZD",
                         lines=(DraftLine(description="Labour", quantity="2", unit_price=price, item_ref=item,
                                          tax_code=exempt),))
    if ledger.name == "xero":
        return to_xero_invoice(draft, contact_id=customer)
    return to_qbo_invoice(draft, customer_ref=customer)


def test_a_created_invoice_is_found_by_its_doc_number_with_its_total_and_customer(ledger):
    customer = ledger.create_customer(name="Acme Plumbing", email=None)

    created = ledger.create_invoice(payload(ledger, "WO-1", customer), idempotency_key="key-1")

    assert (created.doc_number, created.total, created.customer_ref) == ("WO-1", Decimal("190.00"), customer)
    assert [i.ledger_id for i in ledger.find_invoices(["WO-1", "WO-404"])] == [created.ledger_id]
    assert [i.ledger_id for i in ledger.list_invoices()] == [created.ledger_id]


def test_the_same_idempotency_key_gets_the_first_invoice_back_and_creates_no_other(ledger):
    customer = ledger.create_customer(name="Acme Plumbing", email=None)
    first = ledger.create_invoice(payload(ledger, "WO-1", customer), idempotency_key="key-1")

    again = ledger.create_invoice(payload(ledger, "WO-1", customer), idempotency_key="key-1")

    assert again.ledger_id == first.ledger_id
    assert len(list(ledger.list_invoices())) == 1


def test_a_taken_doc_number_under_a_new_key_is_refused_with_a_duplicate_code(ledger):
    customer = ledger.create_customer(name="Acme Plumbing", email=None)
    ledger.create_invoice(payload(ledger, "WO-1", customer), idempotency_key="key-1")

    with pytest.raises(RejectedError) as refused:
        ledger.create_invoice(payload(ledger, "WO-1", customer, price="10.00"), idempotency_key="key-2")

    assert refused.value.code in DUPLICATE_CODES
    assert len(list(ledger.list_invoices())) == 1


def test_a_batch_create_answers_each_item_in_order_refusing_only_the_taken_doc_number(ledger):
    customer = ledger.create_customer(name="Acme Plumbing", email=None)
    ledger.create_invoice(payload(ledger, "WO-2", customer), idempotency_key="key-0")
    assert ledger.max_batch >= 3

    results = ledger.create_invoices([(payload(ledger, doc, customer), f"key-{doc}") for doc in ("WO-1", "WO-2", "WO-3")])

    assert [getattr(r, "doc_number", None) for r in results] == ["WO-1", None, "WO-3"]
    assert isinstance(results[1], RejectedError) and results[1].code in DUPLICATE_CODES
    assert sorted(i.doc_number for i in ledger.list_invoices()) == ["WO-1", "WO-2", "WO-3"]


def test_a_customer_is_found_by_its_email_in_any_case_else_by_its_exact_name_and_is_listed(ledger):
    ident = ledger.create_customer(name="Harbor Foods", email="AP@harbor.example")

    assert ledger.find_customers(name="someone else", email="ap@harbor.example") == [ident]
    assert ledger.find_customers(name="Harbor Foods", email=None) == [ident]
    assert ledger.find_customers(name="Harbor Food", email=None) == []
    assert [(i, n) for i, n, _ in ledger.list_customers(page=1) if i] == [(ident, "Harbor Foods")]


def test_a_taken_customer_name_is_refused_with_a_duplicate_name_code(ledger):
    ledger.create_customer(name="O'Neil & Sons", email=None)

    with pytest.raises(RejectedError) as refused:
        ledger.create_customer(name="O'Neil & Sons", email="x@example.com")

    assert refused.value.code in DUPLICATE_NAME_CODES
