"""The Xero sandbox takes Payments against AUTHORISED invoices until they are PAID, driven from outside by xero-python."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import httpx
import pytest
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import (Account, Contact, Contacts, Invoice, Invoices, LineAmountTypes, LineItem,
                                           Payment, Payments)
from xero_python.exceptions import AccountingBadRequestException

from sdk_clients import XERO_STATIC_TOKEN as STATIC_TOKEN

BANK = "090"




def invoice(api: AccountingApi, tenant: str, amount: str = "100.00", status: str = "AUTHORISED") -> Invoice:
    """An untaxed (NoTax) ACCREC invoice of ``amount``."""
    made = api.create_contacts(tenant, Contacts(contacts=[Contact(name=f"Acme {uuid.uuid4().hex[:6]}")]))
    body = Invoice(type="ACCREC", contact=Contact(contact_id=made.contacts[0].contact_id), date=date(2026, 3, 1),
                   due_date=date(2026, 3, 31), status=status, line_amount_types=LineAmountTypes("NoTax"),
                   line_items=[LineItem(description="Work", quantity=1, unit_amount=float(amount),
                                        account_code="200")])
    return api.create_invoices(tenant, Invoices(invoices=[body])).invoices[0]


def pay(invoice_id, amount: str, code: str = BANK, **fields) -> Payment:
    return Payment(invoice=Invoice(invoice_id=invoice_id), account=Account(code=code), amount=float(amount),
                   date=date(2026, 3, 10), **fields)


def create(api: AccountingApi, tenant: str, *payments: Payment, key: str | None = None) -> list[Payment]:
    extra = {"idempotency_key": key} if key else {}
    return api.create_payments(tenant, Payments(payments=list(payments)), **extra).payments


def refusal(api: AccountingApi, tenant: str, payment: Payment) -> list[str]:
    """The validation messages of a refused payment (Xero's 400 ValidationException)."""
    with pytest.raises(AccountingBadRequestException) as caught:
        create(api, tenant, payment)
    assert caught.value.error_data["Type"] == "ValidationException"
    return [v["Message"] for element in caught.value.error_data["Elements"] for v in element["ValidationErrors"]]


def due(api: AccountingApi, tenant: str, invoice_id) -> tuple[Decimal, Decimal, str]:
    read = api.get_invoice(tenant, invoice_id).invoices[0]
    return Decimal(str(read.amount_paid)), Decimal(str(read.amount_due)), str(getattr(read.status, "value", read.status))


# ---- the effect -------------------------------------------------------------------------------------------


def test_a_payment_for_part_of_an_invoice_leaves_it_authorised_and_a_second_one_for_the_rest_makes_it_paid(
        api, tenant) -> None:
    made = invoice(api, tenant, "100.00")
    first = create(api, tenant, pay(made.invoice_id, "40.00", reference="deposit"))[0]
    assert first.payment_id and str(getattr(first.status, "value", first.status)) == "AUTHORISED" and Decimal(str(first.amount)) == 40
    assert first.date == date(2026, 3, 10) and first.invoice.invoice_id == made.invoice_id
    assert Decimal(str(first.invoice.amount_due)) == Decimal("60.00")
    assert due(api, tenant, made.invoice_id) == (Decimal("40.00"), Decimal("60.00"), "AUTHORISED")
    create(api, tenant, pay(made.invoice_id, "60.00"))
    assert due(api, tenant, made.invoice_id) == (Decimal("100.00"), Decimal("0.00"), "PAID")
    read = api.get_invoice(tenant, made.invoice_id).invoices[0]
    assert [Decimal(str(p.amount)) for p in read.payments] == [Decimal("40.00"), Decimal("60.00")]
    assert read.payments[0].payment_id == first.payment_id and read.fully_paid_on_date == date(2026, 3, 10)
    assert Decimal(str(read.total)) == Decimal("100.00")


def test_create_payment_posts_one_payment_and_payments_read_back_by_id_and_list(api, tenant) -> None:
    made = invoice(api, tenant, "50.00")
    one = api.create_payment(tenant, pay(made.invoice_id, "20.00")).payments[0]
    assert due(api, tenant, made.invoice_id)[:2] == (Decimal("20.00"), Decimal("30.00"))
    assert api.get_payment(tenant, one.payment_id).payments[0].account.code == BANK
    assert [p.payment_id for p in api.get_payments(tenant).payments] == [one.payment_id]


def test_the_bank_account_payments_go_into_is_in_the_chart(api, tenant) -> None:
    accounts = {a.code: a for a in api.get_accounts(tenant).accounts}
    assert str(accounts[BANK].type.value) == "BANK" and accounts[BANK].name == "Business Bank Account"
    paid = create(api, tenant, Payment(invoice=Invoice(invoice_id=invoice(api, tenant).invoice_id),
                                       account=Account(account_id=accounts[BANK].account_id), amount=5.0))[0]
    assert paid.account.account_id == accounts[BANK].account_id


def test_an_idempotency_key_replays_the_payment_instead_of_paying_twice(api, tenant) -> None:
    made = invoice(api, tenant, "100.00")
    first = create(api, tenant, pay(made.invoice_id, "30.00"), key="pay-once-0001")[0]
    again = create(api, tenant, pay(made.invoice_id, "30.00"), key="pay-once-0001")[0]
    assert first.payment_id == again.payment_id
    assert due(api, tenant, made.invoice_id)[:2] == (Decimal("30.00"), Decimal("70.00"))


def test_a_payment_body_that_breaks_the_openapi_schema_is_refused(sandbox_url, tenant) -> None:
    headers = {"Authorization": f"Bearer {STATIC_TOKEN}", "xero-tenant-id": tenant}
    with httpx.Client(base_url=f"{sandbox_url}/api.xro/2.0", headers=headers, trust_env=False) as client:
        answer = client.put("/Payments", json={"Payments": [{"Invoice": {"InvoiceID": "x"}, "Amount": "ten"}]})
    assert answer.status_code == 400 and "Amount" in answer.text and "schema" in answer.json()["Message"]


# ---- refusals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED"])
def test_a_payment_on_an_invoice_that_is_not_yet_authorised_is_refused(api, tenant, status) -> None:
    made = invoice(api, tenant, "100.00", status=status)
    assert refusal(api, tenant, pay(made.invoice_id, "10.00")) == [
        "Payments can only be made against Authorised documents"]
    assert due(api, tenant, made.invoice_id)[:2] == (Decimal("0"), Decimal("100.00"))


@pytest.mark.parametrize("status", ["VOIDED", "DELETED", "PAID"])
def test_a_payment_on_a_voided_deleted_or_paid_invoice_is_refused(api, tenant, status) -> None:
    made = invoice(api, tenant, "100.00", status="DRAFT" if status == "DELETED" else "AUTHORISED")
    if status == "PAID":
        create(api, tenant, pay(made.invoice_id, "100.00"))
    else:
        api.update_invoice(tenant, made.invoice_id, Invoices(invoices=[Invoice(status=status)]))
    messages = refusal(api, tenant, pay(made.invoice_id, "1.00"))
    assert "Payments can only be made against Authorised documents" in messages


def test_a_payment_over_the_amount_due_is_refused_with_xeros_text(api, tenant) -> None:
    made = invoice(api, tenant, "100.00")
    create(api, tenant, pay(made.invoice_id, "70.00"))
    assert refusal(api, tenant, pay(made.invoice_id, "30.01")) == [
        "Payment amount exceeds the amount outstanding on this document"]
    assert due(api, tenant, made.invoice_id) == (Decimal("70.00"), Decimal("30.00"), "AUTHORISED")


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_a_payment_of_zero_or_less_is_refused(api, tenant, amount) -> None:
    made = invoice(api, tenant, "100.00")
    assert refusal(api, tenant, pay(made.invoice_id, amount)) == ["The payment Amount must be greater than zero"]


@pytest.mark.parametrize("code, expected", [("999", "could not be found"), ("200", "is not a bank account")])
def test_a_payment_into_an_unknown_account_or_one_that_takes_no_payments_is_refused(api, tenant, code,
                                                                                   expected) -> None:
    made = invoice(api, tenant, "100.00")
    messages = refusal(api, tenant, pay(made.invoice_id, "10.00", code=code))
    assert len(messages) == 1 and expected in messages[0]
    assert due(api, tenant, made.invoice_id)[1] == Decimal("100.00")


def test_a_payment_on_an_unknown_invoice_is_refused(api, tenant) -> None:
    assert refusal(api, tenant, pay(str(uuid.uuid4()), "10.00")) == ["The invoice could not be found"]


def test_a_part_paid_invoice_cannot_be_voided(api, tenant) -> None:
    made = invoice(api, tenant, "100.00")
    create(api, tenant, pay(made.invoice_id, "10.00"))
    with pytest.raises(AccountingBadRequestException):
        api.update_invoice(tenant, made.invoice_id, Invoices(invoices=[Invoice(status="VOIDED")]))
    assert due(api, tenant, made.invoice_id) == (Decimal("10.00"), Decimal("90.00"), "AUTHORISED")
