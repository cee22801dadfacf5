"""The Ledger contract, run through the real SDK against the sandbox for QuickBooks Online and Xero alike."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.push.batch import DUPLICATE_CODES
from connectors.errors import AuthError, RejectedError, RetriableError, UncertainOutcomeError
from workorders.drafts import DraftLine, InvoiceDraft


def draft(kit, doc: str = "WO-1001", *, version: int = 1, item: str | None = None) -> InvoiceDraft:
    lines = (DraftLine(description="Labour", quantity="2", unit_price="95.00", item_ref=item or kit.labour,
                       tax_code=kit.exempt),
             DraftLine(description="Valve", quantity="3", unit_price="33.33", item_ref=kit.part, tax_code=kit.taxable))
    return InvoiceDraft(company="acme", ledger=kit.kind, work_order_id=f"csv:{doc}", work_order_version=version,
                        customer_name="Acme Plumbing", customer_email="ap@example.com", doc_number=doc,
                        txn_date=date(2026, 3, 1), due_date=date(2026, 3, 31), memo="Replaced the valve", lines=lines,
                        currency="USD" if kit.kind == "quickbooks" else "NZD")  # each sandbox company's home currency


def push(kit, d: InvoiceDraft, *, key: str | None = None, customer: str | None = None):
    customer = customer or kit.ledger.create_customer(name=f"Customer {d.doc_number} {key or ''}", email=None)
    return kit.ledger.create_invoice(kit.payload(d, customer), idempotency_key=key or d.idempotency_key)


def test_a_created_customer_is_found_by_email_any_case_then_by_exact_name_only(kit) -> None:
    assert kit.ledger.find_customers(name="Acme Plumbing", email="ap@example.com") == []
    ident = kit.ledger.create_customer(name="Acme Plumbing", email="AP@example.com")
    assert kit.ledger.find_customers(name="someone else", email="ap@example.com") == [ident]
    assert kit.ledger.find_customers(name="Acme Plumbing", email="other@example.com") == [ident]
    assert kit.ledger.find_customers(name="Acme Plumbing", email=None) == [ident]
    assert kit.ledger.find_customers(name="Acme Plumbin", email=None) == []


def test_a_taken_customer_name_is_rejected_with_the_ledgers_message(kit) -> None:
    kit.ledger.create_customer(name="O'Neil & Sons", email=None)
    with pytest.raises(RejectedError) as caught:
        kit.ledger.create_customer(name="O'Neil & Sons", email="x@example.com")
    assert caught.value.code in ("6240", "duplicate_name") and caught.value.message


def test_a_created_invoice_carries_its_doc_number_customer_and_the_drafts_exact_total(kit) -> None:
    d = draft(kit)
    customer = kit.ledger.create_customer(name="Acme Plumbing", email=None)
    invoice = push(kit, d, customer=customer)
    assert invoice.doc_number == "WO-1001" and invoice.customer_ref == customer
    assert invoice.subtotal == d.total == Decimal("289.99")
    assert invoice.total == invoice.subtotal + invoice.tax
    assert kit.ledger.find_invoices(["WO-1001"]) == [invoice]


def test_the_same_idempotency_key_replays_the_first_invoice_instead_of_creating_another(kit) -> None:
    d = draft(kit)
    customer = kit.ledger.create_customer(name="Acme Plumbing", email=None)
    first = push(kit, d, customer=customer)
    again = push(kit, d, customer=customer)
    assert again.ledger_id == first.ledger_id
    assert kit.stats()["invoices"] == 1


def test_a_taken_doc_number_under_a_new_key_is_refused_with_a_duplicate_code(kit) -> None:
    push(kit, draft(kit))
    with pytest.raises(RejectedError) as caught:
        push(kit, draft(kit), key="another-request")
    assert caught.value.code in DUPLICATE_CODES
    assert kit.stats()["invoices"] == 1


def test_an_unknown_item_is_rejected_with_the_ledgers_own_message(kit) -> None:
    with pytest.raises(RejectedError) as caught:
        push(kit, draft(kit, item="NO-SUCH-ITEM"))
    assert "NO-SUCH-ITEM" in caught.value.message + caught.value.detail or caught.value.code == "2500"
    assert kit.stats()["invoices"] == 0


def test_find_invoices_matches_exact_doc_numbers_across_many_lookups(kit) -> None:
    customer = kit.ledger.create_customer(name="Bulk", email=None)
    docs = [f"B-{n:03d}" for n in range(60)]
    for doc in docs:
        push(kit, draft(kit, doc), customer=customer)
    found = kit.ledger.find_invoices(docs[::2] + ["B-0", "NOPE"])
    assert sorted(invoice.doc_number for invoice in found) == docs[::2]


def test_list_invoices_pages_through_every_invoice(kit) -> None:
    ledger = kit.make(page_size=4)
    customer = ledger.create_customer(name="Pager", email=None)
    for n in range(9):
        push(kit, draft(kit, f"P-{n}"), customer=customer)
    assert sorted(invoice.doc_number for invoice in ledger.list_invoices()) == [f"P-{n}" for n in range(9)]


def test_an_expired_token_is_an_auth_error_that_never_shows_the_token(kit) -> None:
    ledger = kit.make(access_token="expired-secret-token-123")
    with pytest.raises(AuthError) as caught:
        ledger.find_invoices(["WO-1"])
    assert "expired-secret-token-123" not in str(caught.value) + caught.value.detail


def test_a_throttled_call_is_retriable_and_says_how_long_to_wait(kit) -> None:
    kit.fault("throttle")
    with pytest.raises(RetriableError) as caught:
        kit.ledger.find_invoices(["WO-1"])
    assert not isinstance(caught.value, UncertainOutcomeError)
    assert caught.value.retry_after and caught.value.retry_after > 0


def test_a_server_error_on_create_is_uncertain_but_on_a_lookup_merely_retriable(kit) -> None:
    customer = kit.ledger.create_customer(name="Acme Plumbing", email=None)
    kit.fault("server_error", count=2)
    with pytest.raises(UncertainOutcomeError):
        push(kit, draft(kit), customer=customer)
    with pytest.raises(RetriableError) as caught:
        kit.ledger.find_invoices(["WO-1001"])
    assert not isinstance(caught.value, UncertainOutcomeError)


def test_a_lost_response_is_uncertain_and_the_lookup_then_finds_the_committed_invoice(kit) -> None:
    d = draft(kit)
    customer = kit.ledger.create_customer(name="Acme Plumbing", email=None)
    kit.fault("lost_response")
    with pytest.raises(UncertainOutcomeError):
        push(kit, d, customer=customer)
    [found] = kit.ledger.find_invoices([d.doc_number])
    assert found.subtotal == d.total
    assert push(kit, d, customer=customer).ledger_id == found.ledger_id  # the key replays, nothing new
    assert kit.stats()["invoices"] == 1


def test_a_reset_connection_on_create_is_uncertain_and_nothing_was_created(kit) -> None:
    customer = kit.ledger.create_customer(name="Acme Plumbing", email=None)
    kit.fault("reset")
    with pytest.raises(UncertainOutcomeError):
        push(kit, draft(kit), customer=customer)
    assert kit.ledger.find_invoices(["WO-1001"]) == []
