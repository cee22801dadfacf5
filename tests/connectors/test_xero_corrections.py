"""XeroLedger's corrections beyond the shared contract: a credit is allocated at most once, whatever is retried."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from connectors.errors import RejectedError
from connectors.xero import XeroLedger
from mappings.xero import to_xero_credit_note, to_xero_invoice
from workorders.drafts import DraftLine, InvoiceDraft

TOKEN = "xero-corrections-token-2b7d"


def draft(doc: str, *amounts: str) -> InvoiceDraft:
    lines = tuple(DraftLine(description="Work", quantity="1", unit_price=amount, item_ref="LABOUR", tax_code="NONE")
                  for amount in amounts)
    return InvoiceDraft(company="acme", ledger="xero", work_order_id=f"csv:{doc}", work_order_version=1,
                        customer_name="Acme", doc_number=doc, txn_date=date(2026, 3, 1), due_date=date(2026, 3, 31),
                        lines=lines, currency="NZD")


@pytest.fixture
def tenant() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def ledger(sandbox_url: str, tenant: str) -> Iterator[XeroLedger]:
    made = XeroLedger(base_url=f"{sandbox_url}/api.xro/2.0", tenant_id=tenant, access_token=TOKEN, timeout=5.0)
    yield made
    made.close()


@pytest.fixture
def api(sandbox_url: str, tenant: str) -> Iterator[httpx.Client]:
    """Raw calls to the same organisation, for what another app or a person does in Xero meanwhile."""
    headers = {"Authorization": f"Bearer {TOKEN}", "xero-tenant-id": tenant}
    with httpx.Client(base_url=f"{sandbox_url}/api.xro/2.0", headers=headers, timeout=10, trust_env=False) as client:
        yield client


def invoiced(ledger: XeroLedger, amount: str = "200.00") -> tuple[str, str]:
    customer = ledger.create_customer(name=f"Acme {uuid.uuid4().hex[:6]}", email=None)
    invoice = ledger.create_invoice(to_xero_invoice(draft("NW-1001", amount), contact_id=customer),
                                    idempotency_key=f"push-{uuid.uuid4().hex[:8]}")
    return customer, invoice.ledger_id


def allocations(api: httpx.Client, credit_id: str) -> list[dict]:
    return api.get(f"/CreditNotes/{credit_id}").json()["CreditNotes"][0]["Allocations"]


def test_a_credit_note_sent_again_after_xeros_replay_window_is_taken_as_the_first_and_allocated_once(
        ledger, api) -> None:
    customer, invoice_id = invoiced(ledger)
    payload = to_xero_credit_note(draft("NW-1001-CR", "50.00"), contact_id=customer)
    first = ledger.create_credit_note(payload, idempotency_key="credit-a", against=invoice_id)
    # a new key stands for the same step sent once Xero no longer replays the first key (after 6 minutes)
    again = ledger.create_credit_note(payload, idempotency_key="credit-a-later", against=invoice_id)
    assert again.ledger_id == first.ledger_id and (again.status, again.balance) == ("PAID", Decimal("0.00"))
    assert len(allocations(api, first.ledger_id)) == 1
    assert ledger.read_invoice(invoice_id).balance == Decimal("150.00")
    assert len(api.get("/CreditNotes").json()["CreditNotes"]) == 1


def test_an_allocation_an_earlier_attempt_made_is_not_made_again(ledger, api) -> None:
    customer, invoice_id = invoiced(ledger)
    payload = to_xero_credit_note(draft("NW-1001-CR", "50.00"), contact_id=customer)
    credit = ledger.create_credit_note(payload, idempotency_key="credit-b")  # not allocated yet
    # what a lost answer to the allocation leaves: the allocation made, the caller not told
    api.put(f"/CreditNotes/{credit.ledger_id}/Allocations", json={"Allocations": [
        {"Invoice": {"InvoiceID": invoice_id}, "Amount": 50.0, "Date": "2026-03-01"}]}).raise_for_status()
    retried = ledger.create_credit_note(payload, idempotency_key="credit-b", against=invoice_id)
    assert retried.ledger_id == credit.ledger_id and len(allocations(api, credit.ledger_id)) == 1
    assert ledger.read_invoice(invoice_id).balance == Decimal("150.00")


def test_a_credit_larger_than_what_the_invoice_still_owes_stays_the_customers_credit(ledger, api) -> None:
    customer, invoice_id = invoiced(ledger)
    api.put("/Payments", json={"Payments": [{"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": "090"},
                                             "Amount": 180.0, "Date": "2026-03-02"}]}).raise_for_status()
    credit = ledger.create_credit_note(to_xero_credit_note(draft("NW-1001-CR", "50.00"), contact_id=customer),
                                       idempotency_key="credit-c", against=invoice_id)
    assert (credit.status, credit.balance) == ("AUTHORISED", Decimal("50.00"))
    assert allocations(api, credit.ledger_id) == [] and ledger.read_invoice(invoice_id).balance == Decimal("20.00")


def test_a_taken_credit_note_number_for_different_amounts_is_refused_not_taken_over(ledger) -> None:
    customer, invoice_id = invoiced(ledger)
    ledger.create_credit_note(to_xero_credit_note(draft("NW-1001-CR", "50.00"), contact_id=customer),
                              idempotency_key="credit-d")
    with pytest.raises(RejectedError) as caught:
        ledger.create_credit_note(to_xero_credit_note(draft("NW-1001-CR", "60.00"), contact_id=customer),
                                  idempotency_key="credit-e", against=invoice_id)
    assert caught.value.code == "duplicate_credit_note_number" and caught.value.message == "Credit Note # must be unique."
    assert ledger.read_invoice(invoice_id).balance == Decimal("200.00")


def test_a_voided_invoice_reads_as_owing_nothing_and_refuses_an_update_with_xeros_message(ledger) -> None:
    customer, invoice_id = invoiced(ledger)
    voided = ledger.void_invoice(invoice_id, idempotency_key="void-a")
    assert (voided.subtotal, voided.tax, voided.total, voided.balance) == (Decimal("0.00"),) * 4
    with pytest.raises(RejectedError) as caught:
        ledger.update_invoice(invoice_id, to_xero_invoice(draft("NW-1001", "10.00"), contact_id=customer),
                              idempotency_key="amend-a")
    assert caught.value.message == "Invoice not of valid status for modification."


def test_voiding_an_unknown_invoice_is_refused_as_not_found(ledger) -> None:
    with pytest.raises(RejectedError) as caught:
        ledger.void_invoice(str(uuid.uuid4()), idempotency_key="void-b")
    assert caught.value.code == "not_found"
