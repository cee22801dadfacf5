"""The QBO sandbox takes customer Payments against invoices and refuses what must not be applied, driven by python-quickbooks."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from quickbooks import QuickBooks
from quickbooks import exceptions as qbx
from quickbooks.batch import batch_create
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment

from sandbox.qbo_schema import FIELDS

TOKEN = "sandbox-test-token-0123456789"




def customer(qb: QuickBooks, name: str = "Acme Plumbing") -> str:
    return str(Customer.from_json({"DisplayName": name}).save(qb=qb).Id)


def invoice(qb: QuickBooks, customer_id: str, amount: str = "100.00") -> Invoice:
    """An untaxed invoice (NON), so its TotalAmt and opening Balance are ``amount``."""
    line = {"DetailType": "SalesItemLineDetail", "Amount": float(amount),
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": float(amount),
                                    "TaxCodeRef": {"value": "NON"}}}
    return Invoice.from_json({"CustomerRef": {"value": customer_id}, "Line": [line]}).save(qb=qb)


def payment(customer_id: str, total: str, *applied: tuple[str, str], **fields: Any) -> Payment:
    """An SDK Payment of ``total`` whose lines apply (invoice id, amount) pairs."""
    lines = [{"Amount": float(amount), "LinkedTxn": [{"TxnId": str(ident), "TxnType": "Invoice"}]}
             for ident, amount in applied]
    return Payment.from_json({"CustomerRef": {"value": customer_id}, "TotalAmt": float(total), "Line": lines,
                              **fields})


def balance(qb: QuickBooks, ident: Any) -> tuple[Decimal, Decimal]:
    read = Invoice.get(str(ident), qb=qb)
    return Decimal(str(read.TotalAmt)), Decimal(str(read.Balance))


def refused(action: Any) -> qbx.QuickbooksException:
    with pytest.raises(qbx.QuickbooksException) as caught:
        action()
    return caught.value


# ---- the effect -------------------------------------------------------------------------------------------


def test_a_payment_for_part_of_an_invoice_leaves_its_balance_and_a_second_one_for_the_rest_clears_it(
        qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "100.00")
    first = payment(buyer, "40.00", (made.Id, "40.00"), TxnDate="2026-03-05", PrivateNote="deposit").save(qb=qb)
    assert first.Id and Decimal(str(first.TotalAmt)) == Decimal("40.00") and first.TxnDate == "2026-03-05"
    assert balance(qb, made.Id) == (Decimal("100.00"), Decimal("60.00"))
    payment(buyer, "60.00", (made.Id, "60.00")).save(qb=qb)
    assert balance(qb, made.Id) == (Decimal("100.00"), Decimal("0.00"))


def test_a_paid_invoice_links_its_payments_and_the_payment_reads_back_by_id_and_query(qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "80.00")
    saved = payment(buyer, "80.00", (made.Id, "80.00")).save(qb=qb)
    read = Invoice.get(made.Id, qb=qb)
    assert [(link.TxnId, link.TxnType) for link in read.LinkedTxn] == [(saved.Id, "Payment")]
    again = Payment.get(saved.Id, qb=qb)
    assert again.CustomerRef.value == buyer and again.Line[0].LinkedTxn[0].TxnId == made.Id
    assert [p.Id for p in Payment.all(qb=qb)] == [saved.Id]


def test_one_payment_can_pay_two_invoices_and_what_it_does_not_apply_is_left_unapplied(qb: QuickBooks) -> None:
    buyer = customer(qb)
    one, two = invoice(qb, buyer, "50.00"), invoice(qb, buyer, "70.00")
    saved = payment(buyer, "130.00", (one.Id, "50.00"), (two.Id, "30.00")).save(qb=qb)
    assert Decimal(str(saved.UnappliedAmt)) == Decimal("50.00")
    assert balance(qb, one.Id)[1] == 0 and balance(qb, two.Id)[1] == Decimal("40.00")


def test_editing_a_part_paid_invoice_keeps_the_payment_off_its_balance(qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "100.00")
    payment(buyer, "25.00", (made.Id, "25.00")).save(qb=qb)
    read = Invoice.get(made.Id, qb=qb)
    read.PrivateNote = "edited after the payment"
    edited = read.save(qb=qb)
    assert (Decimal(str(edited.TotalAmt)), Decimal(str(edited.Balance))) == (Decimal("100.00"), Decimal("75.00"))
    assert [link.TxnType for link in edited.LinkedTxn] == ["Payment"]


def test_a_requestid_replays_the_payment_instead_of_applying_it_twice(qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "100.00")
    first = payment(buyer, "30.00", (made.Id, "30.00")).save(qb=qb, request_id="pay-once-0001")
    second = payment(buyer, "30.00", (made.Id, "30.00")).save(qb=qb, request_id="pay-once-0001")
    assert first.Id == second.Id and balance(qb, made.Id)[1] == Decimal("70.00")
    assert Payment.count(qb=qb) == 1


def test_a_payment_can_be_a_batch_item(qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "100.00")
    done = batch_create([payment(buyer, "45.00", (made.Id, "45.00"))], qb=qb)
    assert not done.faults and len(done.successes) == 1
    assert balance(qb, made.Id)[1] == Decimal("55.00")


# ---- refusals ---------------------------------------------------------------------------------------------


def test_a_payment_on_an_unknown_invoice_is_refused_with_2500(qb: QuickBooks) -> None:
    buyer = customer(qb)
    error = refused(lambda: payment(buyer, "10.00", ("999", "10.00")).save(qb=qb))
    assert error.error_code == 2500 and Payment.count(qb=qb) == 0


def test_a_payment_on_another_customers_invoice_is_refused_and_leaves_the_balance(qb: QuickBooks) -> None:
    owner, payer = customer(qb, "Owner Ltd"), customer(qb, "Payer Ltd")
    made = invoice(qb, owner, "100.00")
    assert refused(lambda: payment(payer, "10.00", (made.Id, "10.00")).save(qb=qb)).error_code == 6000
    assert balance(qb, made.Id)[1] == Decimal("100.00")


def test_a_line_over_the_invoices_remaining_balance_is_refused(qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "100.00")
    payment(buyer, "70.00", (made.Id, "70.00")).save(qb=qb)
    assert refused(lambda: payment(buyer, "40.00", (made.Id, "40.00")).save(qb=qb)).error_code == 6000
    # two lines of one payment on one invoice count together
    assert refused(lambda: payment(buyer, "40.00", (made.Id, "20.00"), (made.Id, "20.00")).save(qb=qb)).error_code == 6000
    assert balance(qb, made.Id)[1] == Decimal("30.00") and Payment.count(qb=qb) == 1


@pytest.mark.parametrize("total, amount", [("0", "0"), ("-5.00", "-5.00"), ("10.00", "0"), ("0", "10.00")])
def test_a_payment_or_line_amount_of_zero_or_less_is_refused(qb: QuickBooks, total: str, amount: str) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "100.00")
    assert refused(lambda: payment(buyer, total, (made.Id, amount)).save(qb=qb)).error_code == 6000
    assert balance(qb, made.Id)[1] == Decimal("100.00")


def test_lines_applying_more_than_the_payments_total_are_refused(qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "100.00")
    assert refused(lambda: payment(buyer, "20.00", (made.Id, "30.00")).save(qb=qb)).error_code == 6000
    assert balance(qb, made.Id)[1] == Decimal("100.00")


def test_a_payment_without_its_customer_or_total_is_refused_with_2020(qb: QuickBooks, qbo: httpx.Client) -> None:
    made = invoice(qb, customer(qb), "100.00")
    line = {"Amount": 10, "LinkedTxn": [{"TxnId": made.Id, "TxnType": "Invoice"}]}
    for body in ({"TotalAmt": 10, "Line": [line]}, {"CustomerRef": {"value": made.CustomerRef.value}, "Line": [line]}):
        answer = qbo.post("/payment", json=body)
        assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "2020"


def test_an_unknown_payment_field_is_refused_with_2010_and_every_field_the_sdk_sends_is_known(
        qb: QuickBooks, qbo: httpx.Client) -> None:
    made = invoice(qb, customer(qb), "100.00")
    body = json.loads(payment(made.CustomerRef.value, "10.00", (made.Id, "10.00")).to_json())
    for wrong in ({**body, "Colour": "red"}, {**body, "Line": [{**body["Line"][0], "Colour": "red"}]}):
        answer = qbo.post("/payment", json=wrong)
        assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "2010"
    sdk_fields = set(Payment().__dict__) - {"qbo_object_name"}
    assert {f for f in sdk_fields if f[0].isupper() or f in ("domain", "sparse")} <= set(FIELDS["Payment"])
    assert qbo.post("/payment", json=body).status_code == 200
