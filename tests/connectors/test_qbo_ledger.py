"""QuickBooksLedger drives the real python-quickbooks SDK against the sandbox and types every failure."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import httpx
import pytest
import requests
from quickbooks import exceptions as qbx
from quickbooks.objects.invoice import Invoice
from urllib3.exceptions import ProtocolError

from connectors.errors import (AuthError, ConnectorError, FatalError, RejectedError, RetriableError,
                               UncertainOutcomeError)
from connectors.qbo import LedgerInvoice, QuickBooksLedger, _translate
from mappings.qbo import to_qbo_invoice
from workorders.drafts import DraftLine, InvoiceDraft

LABOUR = DraftLine(description="Labour", quantity="2", unit_price="95.00", item_ref="1", tax_code="NON")
VALVE = DraftLine(description="Valve", quantity="3", unit_price="33.33", item_ref="2", tax_code="TAX")


def draft(doc: str = "WO-1001", *lines: DraftLine, version: int = 1) -> InvoiceDraft:
    return InvoiceDraft(company="acme", ledger="quickbooks", work_order_id=f"csv:{doc}", work_order_version=version,
                        customer_name="Acme Plumbing", customer_email="ap@example.com", doc_number=doc,
                        txn_date=date(2025, 3, 1), currency="USD", memo="Replaced the valve",
                        lines=lines or (LABOUR, VALVE))


def push(ledger: QuickBooksLedger, d: InvoiceDraft, customer: str | None = None) -> LedgerInvoice:
    customer = customer or ledger.create_customer(name=f"Customer {d.doc_number}", email=None)
    return ledger.create_invoice(to_qbo_invoice(d, customer_ref=customer), idempotency_key=d.idempotency_key)


def stats(admin: httpx.Client) -> dict:
    return admin.get("/stats").json()


def test_a_created_customer_is_found_by_email_then_by_exact_name(ledger: QuickBooksLedger) -> None:
    assert ledger.find_customers(name="Acme Plumbing", email="ap@example.com") == []
    ident = ledger.create_customer(name="Acme Plumbing", email="AP@example.com")
    assert ledger.find_customers(name="someone else", email="ap@example.com") == [ident]
    assert ledger.find_customers(name="Acme Plumbing", email="other@example.com") == [ident]
    assert ledger.find_customers(name="Acme Plumbing", email=None) == [ident]
    assert ledger.find_customers(name="acme plumbing", email=None) == []


def test_a_taken_customer_name_is_rejected_with_6240(ledger: QuickBooksLedger) -> None:
    ledger.create_customer(name="O'Neil & Sons", email=None)
    with pytest.raises(RejectedError) as caught:
        ledger.create_customer(name="O'Neil & Sons", email="x@example.com")
    assert caught.value.code == "6240" and caught.value.message == "Duplicate Name Exists Error"


def test_an_invoice_is_created_with_its_exact_decimal_total(ledger: QuickBooksLedger) -> None:
    created = push(ledger, draft())
    # the valve line is taxable and the sandbox company is in Chicago: QBO adds 10.25% on 99.99 (Automated Sales Tax)
    assert created == LedgerInvoice(ledger_id="1", doc_number="WO-1001", subtotal=Decimal("289.99"),
                                    tax=Decimal("10.25"), total=Decimal("300.24"), customer_ref="1", currency="USD",
                                    balance=Decimal("300.24"))
    assert created.subtotal == draft().total


def test_the_same_idempotency_key_twice_gives_one_invoice_and_the_same_id(ledger: QuickBooksLedger,
                                                                        sandbox_admin: httpx.Client) -> None:
    customer = ledger.create_customer(name="Acme", email=None)
    first, second = push(ledger, draft(), customer), push(ledger, draft(), customer)
    assert first == second
    assert stats(sandbox_admin)["invoices"] == 1


def test_a_duplicate_doc_number_is_rejected_with_6140_and_the_ledgers_message(ledger: QuickBooksLedger) -> None:
    customer = ledger.create_customer(name="Acme", email=None)
    push(ledger, draft("WO-7"), customer)
    with pytest.raises(RejectedError) as caught:
        push(ledger, draft("WO-7", version=2), customer)
    error = caught.value
    assert (error.code, error.message, error.system, error.operation) == (
        "6140", "Duplicate Document Number Error", "quickbooks", "create_invoice")
    assert "DocNumber=WO-7 is assigned to TxnType=Invoice" in error.detail


def test_an_unknown_item_is_rejected_with_the_ledgers_code(ledger: QuickBooksLedger) -> None:
    line = DraftLine(description="Gizmo", quantity="1", unit_price="10", item_ref="999", tax_code="NON")
    with pytest.raises(RejectedError) as caught:
        push(ledger, draft("WO-8", line))
    assert caught.value.code == "2500" and caught.value.message == "Invalid Reference Id"


def test_a_refused_token_is_an_auth_error_that_never_shows_the_token(make_ledger: Callable) -> None:
    token = "expired-token-7d3e91f0c2"
    ledger = make_ledger(access_token=token)
    with pytest.raises(AuthError) as caught:
        ledger.find_invoices(["WO-1"])
    error = caught.value
    assert error.code == "401"
    assert all(token not in text for text in (str(error), error.message, error.detail, repr(ledger)))


def test_find_invoices_returns_exactly_the_requested_doc_numbers(ledger: QuickBooksLedger,
                                                               sandbox_admin: httpx.Client) -> None:
    customer = ledger.create_customer(name="Acme", email=None)
    made = [push(ledger, draft(doc, LABOUR), customer) for doc in ("WO-1", "WO-2", "WO-3")]
    before = stats(sandbox_admin)["requests"]
    wanted = ["WO-3", "WO-1"] + [f"MISSING-{n}" for n in range(58)]
    assert sorted(ledger.find_invoices(wanted), key=lambda i: i.ledger_id) == [made[0], made[2]]
    assert stats(sandbox_admin)["requests"] - before == 2  # 60 doc numbers, 50 per query
    assert ledger.find_invoices([]) == []


def test_list_invoices_pages_through_every_invoice(make_ledger: Callable, sandbox_admin: httpx.Client) -> None:
    ledger = make_ledger(page_size=2)
    customer = ledger.create_customer(name="Acme", email=None)
    made = [push(ledger, draft(f"WO-{n}", LABOUR), customer) for n in range(1, 6)]
    before = stats(sandbox_admin)["requests"]
    assert list(ledger.list_invoices()) == made
    assert stats(sandbox_admin)["requests"] - before == 3


def test_a_server_that_is_down_is_retriable_even_for_a_create(make_ledger: Callable) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ledger = make_ledger(base_url=f"http://127.0.0.1:{port}/v3")
    for call in (lambda: ledger.find_invoices(["WO-1"]), lambda: push(ledger, draft(), customer="1")):
        with pytest.raises(RetriableError) as caught:
            call()
        assert type(caught.value) is RetriableError


def test_a_throttled_call_is_retriable_after_a_minute(ledger: QuickBooksLedger, sandbox_admin: httpx.Client) -> None:
    customer = ledger.create_customer(name="Acme", email=None)
    sandbox_admin.post("/faults", json={"kind": "throttle"}).raise_for_status()
    with pytest.raises(RetriableError) as caught:
        push(ledger, draft(), customer)
    assert type(caught.value) is RetriableError and caught.value.retry_after == 60
    assert push(ledger, draft(), customer).doc_number == "WO-1001"


def test_a_server_error_is_uncertain_on_create_and_retriable_elsewhere(ledger: QuickBooksLedger,
                                                                     sandbox_admin: httpx.Client) -> None:
    customer = ledger.create_customer(name="Acme", email=None)
    sandbox_admin.post("/faults", json={"kind": "server_error", "count": 2}).raise_for_status()
    with pytest.raises(UncertainOutcomeError):
        push(ledger, draft(), customer)
    with pytest.raises(RetriableError) as caught:
        ledger.find_invoices(["WO-1001"])
    assert type(caught.value) is RetriableError


def test_a_create_that_times_out_is_uncertain_and_is_then_found_by_doc_number(
        make_ledger: Callable, sandbox_admin: httpx.Client) -> None:
    ledger = make_ledger(timeout=0.3)
    customer = ledger.create_customer(name="Acme", email=None)
    sandbox_admin.post("/faults", json={"kind": "slow", "seconds": 1.0}).raise_for_status()
    with pytest.raises(UncertainOutcomeError) as caught:
        push(ledger, draft(), customer)
    assert caught.value.operation == "create_invoice"
    [found] = ledger.find_invoices(["WO-1001"])
    assert push(ledger, draft(), customer) == found
    assert stats(sandbox_admin)["invoices"] == 1


def test_the_sdk_sends_mapped_amounts_as_exact_json_numbers() -> None:
    line = DraftLine(description="Pipe", quantity="1.5", unit_price="0.10", item_ref="3", tax_code="NON")
    sent = json.loads(Invoice.from_json(to_qbo_invoice(draft("WO-9", line, VALVE), customer_ref="5")).to_json(),
                      parse_float=Decimal)
    amounts = [(ln["Amount"], ln["SalesItemLineDetail"]["Qty"], ln["SalesItemLineDetail"]["UnitPrice"])
               for ln in sent["Line"]]
    assert amounts == [(Decimal("0.15"), Decimal("1.5"), Decimal("0.1")), (Decimal("99.99"), 3, Decimal("33.33"))]
    assert sent["CustomerRef"]["value"] == "5" and sent["DocNumber"] == "WO-9"


def test_plain_http_is_only_for_loopback_and_tls_verification_stays_on(ledger: QuickBooksLedger) -> None:
    with pytest.raises(ValueError):
        QuickBooksLedger(base_url="http://quickbooks.example.com/v3", realm_id="1", access_token="t")
    secure = QuickBooksLedger(base_url="https://quickbooks.api.intuit.com/v3", realm_id="1", access_token="t")
    assert secure._session.verify is True and secure._session.trust_env is False
    ledger.find_invoices(["WO-1"])
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


THROTTLE_XML = "Error reading json response: <IntuitResponse><Fault><Message>message=ThrottleExceeded</Message>"


@pytest.mark.parametrize("exc, options, expected", [
    (qbx.AuthorizationException("Application authentication failed", 401, "{}"), {"status": 401}, AuthError),
    (qbx.AuthorizationException("General Authentication Error", 100, ""), {"status": 400}, AuthError),
    (qbx.QuickbooksException(THROTTLE_XML, 10000), {"status": 429}, RetriableError),
    (qbx.ValidationException("message=ThrottleExceeded", 3001, ""), {"status": 429}, RetriableError),
    (qbx.QuickbooksException("Error returned with status code '503': busy", 10000), {}, RetriableError),
    (qbx.QuickbooksException("Error reading json response: <html>", 10000), {"status": 502}, RetriableError),
    (qbx.QuickbooksException("Error reading json response: <html>", 10000), {"status": 200}, FatalError),
    (qbx.QuickbooksException("Error reading json response: <html>", 10000), {"status": 200, "creating": True},
     UncertainOutcomeError),
    (qbx.SevereException("An application error has occurred", 10000, ""), {"status": 500}, RetriableError),
    (qbx.SevereException("An application error has occurred", 10000, ""),
     {"status": 500, "creating": True}, UncertainOutcomeError),
    (qbx.QuickbooksException("Stale Object Error", 5010, ""), {"status": 400}, RejectedError),
    (qbx.ValidationException("Required param missing", 2020, ""), {"status": 400}, RejectedError),
    (qbx.ObjectNotFoundException("Object Not Found", 610, ""), {"status": 400}, RejectedError),
    (qbx.UnsupportedException("Unsupported Operation", 500, ""), {"status": 400}, FatalError),
    (requests.ReadTimeout("read timed out"), {"creating": True}, UncertainOutcomeError),
    (requests.ReadTimeout("read timed out"), {}, RetriableError),
    (requests.ConnectionError(ProtocolError("aborted", ConnectionResetError())), {"creating": True},
     UncertainOutcomeError),
    (requests.exceptions.SSLError("certificate verify failed"), {}, FatalError),
    (KeyError("Invoice"), {}, FatalError),
    (KeyError("Invoice"), {"status": 200, "creating": True}, UncertainOutcomeError),
])
def test_translate_types_every_sdk_and_transport_error(exc: Exception, options: dict,
                                                       expected: type[ConnectorError]) -> None:
    error = _translate(exc, operation="op", **options)
    assert type(error) is expected and error.system == "quickbooks" and error.operation == "op"


def test_translate_scrubs_the_access_token_from_every_message() -> None:
    secret = "at-2f9d1c77b0e4"
    exc = qbx.ValidationException(f"bad token {secret}", 2000, f"detail {secret}")
    error = _translate(exc, operation="op", status=400, secret=secret)
    assert secret not in str(error) + error.message + error.detail
