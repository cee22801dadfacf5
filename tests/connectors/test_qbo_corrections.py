"""QuickBooksLedger corrects a sent invoice: a stale token is re-read once, a lost answer is uncertain."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from quickbooks.objects.invoice import Invoice

from connectors.errors import RejectedError, UncertainOutcomeError
from connectors.qbo import QuickBooksLedger, retry_request_id
from mappings.qbo import to_qbo_credit_memo, to_qbo_invoice
from tests.connectors.conftest import TOKEN
from tests.connectors.test_qbo_ledger import LABOUR, draft, push, stats


@pytest.fixture
def raw(sandbox_url: str, realm: str) -> Callable[[str, str], dict[str, Any]]:
    """``raw(entity, id)``: the entity exactly as the sandbox stores it (SyncToken, notes), read over plain HTTP."""
    def read(entity: str, ident: str) -> dict[str, Any]:
        answer = httpx.get(f"{sandbox_url}/v3/company/{realm}/{entity.lower()}/{ident}", trust_env=False,
                           headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
        return answer.json()[entity]
    return read


@pytest.fixture
def after_each_read(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[int], None]], list[int]]:
    """``after_each_read(hook)``: every ``Invoice.get`` the connector makes calls ``hook(n)`` (n = 1, 2, ...) once it
    has read, before the connector goes on: what another user or a lost answer does between a read and a write."""
    def install(hook: Callable[[int], None]) -> list[int]:
        reads: list[int] = []
        real = Invoice.get.__func__  # type: ignore[attr-defined]

        def get(cls: type[Invoice], id: str, qb: Any = None, params: Any = None) -> Invoice:
            found = real(cls, id, qb=qb, params=params)
            reads.append(len(reads) + 1)
            hook(len(reads))
            return found

        monkeypatch.setattr(Invoice, "get", classmethod(get))
        return reads
    return install


def test_a_token_gone_stale_between_read_and_write_is_read_again_and_the_update_lands(
        make_ledger: Callable, after_each_read: Callable, raw: Callable) -> None:
    ledger, other = make_ledger(), make_ledger()
    customer = ledger.create_customer(name="Acme", email=None)
    original = draft()
    invoice = push(ledger, original, customer)
    memo = original.model_copy(update={"memo": "edited by the office"})
    reads = after_each_read(lambda n: n == 1 and other.update_invoice(
        invoice.ledger_id, to_qbo_invoice(memo, customer_ref=customer), idempotency_key="office-edit"))
    fewer = original.model_copy(update={"work_order_version": 2, "lines": (LABOUR,)})
    updated = ledger.update_invoice(invoice.ledger_id, to_qbo_invoice(fewer, customer_ref=customer),
                                    idempotency_key="amend-2")
    assert updated.subtotal == Decimal("190.00") and updated.ledger_id == invoice.ledger_id
    stored = raw("Invoice", invoice.ledger_id)
    assert stored["PrivateNote"].startswith("Replaced the valve") and stored["SyncToken"] == "2"
    assert len(reads) == 3  # ours, the office's own, then ours again after the 5010


def test_the_same_update_replayed_after_a_stale_token_writes_nothing_more(
        make_ledger: Callable, after_each_read: Callable, raw: Callable) -> None:
    ledger, other = make_ledger(), make_ledger()
    customer = ledger.create_customer(name="Acme", email=None)
    invoice = push(ledger, draft(), customer)
    after_each_read(lambda n: n == 1 and other.update_invoice(
        invoice.ledger_id, to_qbo_invoice(draft(), customer_ref=customer), idempotency_key="office-edit"))
    payload = to_qbo_invoice(draft("WO-1001", LABOUR), customer_ref=customer)
    first = ledger.update_invoice(invoice.ledger_id, payload, idempotency_key="amend-2")  # 5010, then the resend
    token = raw("Invoice", invoice.ledger_id)["SyncToken"]
    assert ledger.update_invoice(invoice.ledger_id, payload, idempotency_key="amend-2") == first
    assert raw("Invoice", invoice.ledger_id)["SyncToken"] == token == "2"


def test_a_token_that_goes_stale_twice_is_refused_with_the_ledgers_5010(
        make_ledger: Callable, after_each_read: Callable) -> None:
    ledger, other = make_ledger(), make_ledger()
    customer = ledger.create_customer(name="Acme", email=None)
    invoice = push(ledger, draft(), customer)
    edits = iter(range(100))

    def someone_saves(n: int) -> None:
        if n % 2:  # after each of our reads, never after the office's own
            other.update_invoice(invoice.ledger_id, to_qbo_invoice(draft(), customer_ref=customer),
                                 idempotency_key=f"office-{next(edits)}")

    after_each_read(someone_saves)
    with pytest.raises(RejectedError) as caught:
        ledger.update_invoice(invoice.ledger_id, to_qbo_invoice(draft("WO-1001", LABOUR), customer_ref=customer),
                              idempotency_key="amend-2")
    assert caught.value.code == "5010" and caught.value.operation == "update_invoice"
    assert ledger.read_invoice(invoice.ledger_id).subtotal == draft().total


def test_an_update_whose_answer_is_lost_is_uncertain_and_its_replay_is_the_first_answer(
        ledger: QuickBooksLedger, sandbox_admin: httpx.Client, after_each_read: Callable, raw: Callable) -> None:
    customer = ledger.create_customer(name="Acme", email=None)
    invoice = push(ledger, draft(), customer)
    after_each_read(lambda n: n == 1 and sandbox_admin.post("/faults", json={"kind": "lost_response"}))
    payload = to_qbo_invoice(draft("WO-1001", LABOUR), customer_ref=customer)
    with pytest.raises(UncertainOutcomeError):
        ledger.update_invoice(invoice.ledger_id, payload, idempotency_key="amend-2")
    assert ledger.read_invoice(invoice.ledger_id).subtotal == Decimal("190.00")  # it did land
    token = raw("Invoice", invoice.ledger_id)["SyncToken"]
    assert ledger.update_invoice(invoice.ledger_id, payload, idempotency_key="amend-2").subtotal == Decimal("190.00")
    assert raw("Invoice", invoice.ledger_id)["SyncToken"] == token


def test_voiding_an_invoice_already_voided_reads_it_and_sends_nothing(
        ledger: QuickBooksLedger, sandbox_admin: httpx.Client, raw: Callable) -> None:
    invoice = push(ledger, draft())
    first = ledger.void_invoice(invoice.ledger_id, idempotency_key="void-1")
    requests = stats(sandbox_admin)["requests"]
    again = ledger.void_invoice(invoice.ledger_id, idempotency_key="void-2")
    assert again == first and again.status == "VOIDED" and again.balance == Decimal("0.00")
    assert stats(sandbox_admin)["requests"] == requests + 1  # the read, no second void
    assert raw("Invoice", invoice.ledger_id)["PrivateNote"].count("Voided") == 1


def test_a_credit_memo_names_the_invoice_it_credits_and_stays_the_customers_credit(
        ledger: QuickBooksLedger, raw: Callable) -> None:
    customer = ledger.create_customer(name="Acme", email=None)
    invoice = push(ledger, draft(), customer)
    credit = ledger.create_credit_note(to_qbo_credit_memo(draft("WO-1001-CR", LABOUR), customer_ref=customer),
                                       idempotency_key="credit-1", against=invoice.ledger_id)
    stored = raw("CreditMemo", credit.ledger_id)
    assert stored["PrivateNote"].startswith("Credit for invoice WO-1001\nReplaced the valve")
    assert stored["CustomerMemo"] == {"value": "Credit for invoice WO-1001 - Job WO-1001-CR"}
    assert Decimal(str(stored["RemainingCredit"])) == credit.total == credit.balance == Decimal("190.00")
    assert ledger.read_invoice(invoice.ledger_id).balance == invoice.total


def test_a_credit_against_an_unknown_invoice_is_refused_before_anything_is_sent(ledger: QuickBooksLedger) -> None:
    customer = ledger.create_customer(name="Acme", email=None)
    with pytest.raises(RejectedError) as caught:
        ledger.create_credit_note(to_qbo_credit_memo(draft("WO-1001-CR"), customer_ref=customer),
                                  idempotency_key="credit-1", against="999")
    assert caught.value.code == "610"
    assert ledger.find_credit_notes(["WO-1001-CR"]) == []


def test_a_credit_memo_whose_answer_is_lost_is_uncertain_and_then_found_by_its_number(
        ledger: QuickBooksLedger, sandbox_admin: httpx.Client) -> None:
    customer = ledger.create_customer(name="Acme", email=None)
    payload = to_qbo_credit_memo(draft("WO-1001-CR"), customer_ref=customer)
    sandbox_admin.post("/faults", json={"kind": "lost_response"}).raise_for_status()
    with pytest.raises(UncertainOutcomeError) as caught:
        ledger.create_credit_note(payload, idempotency_key="credit-1")
    assert caught.value.operation == "create_credit_note"
    [found] = ledger.find_credit_notes(["WO-1001-CR"])
    assert ledger.create_credit_note(payload, idempotency_key="credit-1") == found


def test_an_id_that_is_not_a_qbo_id_never_reaches_the_url(ledger: QuickBooksLedger) -> None:
    for ident in ("../customer/1", "12?x=1", ""):
        with pytest.raises(ValueError):
            ledger.read_invoice(ident)


def test_the_resend_after_a_stale_token_has_its_own_request_id_derived_from_the_key() -> None:
    key = "co-" + "a" * 47
    assert retry_request_id(key) == retry_request_id(key) != key
    assert len(retry_request_id(key)) <= 50 and retry_request_id(key) != retry_request_id("co-other")


def test_a_credit_memo_for_a_long_memo_keeps_the_closeout_trace_within_qbos_4000_characters(
        ledger: QuickBooksLedger, raw: Callable) -> None:
    customer = ledger.create_customer(name="Acme", email=None)
    invoice = push(ledger, draft(), customer)
    long = draft("WO-1001-CR", LABOUR).model_copy(update={"memo": "x" * 5000})
    credit = ledger.create_credit_note(to_qbo_credit_memo(long, customer_ref=customer), idempotency_key="credit-1",
                                       against=invoice.ledger_id)
    note = raw("CreditMemo", credit.ledger_id)["PrivateNote"]
    assert len(note) == 4000 and note.startswith("Credit for invoice WO-1001\n")
    assert note.endswith("Closeout csv:WO-1001-CR v1")
