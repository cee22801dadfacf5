"""Reconcile reads back what customers paid: each pushed invoice's balance and state, kept where people look."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from ledger_backlog import REALM, TENANT, pushed_records as records

from services.explain import explain_work_order
from services.reconcile import reconcile
from workorders.payments import PaymentReading, PaymentState, outstanding_by_currency, payment_state
from workorders.push import PushRecord

D = Decimal


@pytest.mark.parametrize(("total", "balance", "status", "state"), [
    ("100.00", "100.00", "", PaymentState.unpaid),
    ("100.00", "40.00", "", PaymentState.part_paid),
    ("100.00", "0.00", "", PaymentState.paid),
    ("100.00", "0.00", "PAID", PaymentState.paid),
    ("100.00", "60.00", "AUTHORISED", PaymentState.part_paid),
    ("100.00", "100.00", "VOIDED", PaymentState.voided),
    ("0.00", "0.00", "", PaymentState.unpaid),
])
def test_an_invoices_own_figures_say_whether_it_is_unpaid_part_paid_paid_or_voided(total, balance, status, state):
    assert payment_state(total=D(total), balance=D(balance), status=status) is state


def test_a_ledger_that_gives_no_balance_says_nothing_of_payment():
    assert payment_state(total=D("100.00"), balance=None) is None


def test_what_is_owed_is_summed_per_currency_and_paid_or_voided_invoices_owe_nothing():
    readings = [PaymentReading("a", PaymentState.unpaid, D("100.00"), "USD"),
                PaymentReading("b", PaymentState.part_paid, D("25.50"), "USD"),
                PaymentReading("c", PaymentState.paid, D("0.00"), "USD"),
                PaymentReading("d", PaymentState.unpaid, D("80.00"), "NZD")]

    counts, owed = outstanding_by_currency(readings)

    assert counts == {"unpaid": 2, "part_paid": 1, "paid": 1}
    assert owed == {"NZD": D("80.00"), "USD": D("125.50")}


def pay_qbo(app, record: PushRecord, amount: Decimal) -> None:
    headers = {"Authorization": "Bearer admin"}
    invoice = httpx.get(f"{app.sandbox_url}/v3/company/{REALM}/invoice/{record.ledger_id}", headers=headers).json()
    body = {"CustomerRef": invoice["Invoice"]["CustomerRef"], "TotalAmt": str(amount),
            "Line": [{"Amount": str(amount), "LinkedTxn": [{"TxnId": record.ledger_id, "TxnType": "Invoice"}]}]}
    httpx.post(f"{app.sandbox_url}/v3/company/{REALM}/payment", headers=headers, json=body).raise_for_status()


def pay_xero(app, record: PushRecord, amount: Decimal) -> None:
    headers = {"Authorization": "Bearer admin", "xero-tenant-id": TENANT}
    body = {"Payments": [{"Invoice": {"InvoiceID": record.ledger_id}, "Account": {"Code": "090"},
                          "Amount": float(amount), "Date": "2026-12-01"}]}
    answer = httpx.put(f"{app.sandbox_url}/api.xro/2.0/Payments", headers=headers, json=body)
    assert answer.status_code == 200, answer.text


def test_reconcile_keeps_each_invoices_payment_state_and_balance_on_its_push_record(pushed_backlog):
    app, _ = pushed_backlog
    qbo_part, qbo_paid, _ = records(app, "qbo-co")
    xero_paid = records(app, "xero-co")[0]
    pay_qbo(app, qbo_part, D("10.00"))
    pay_qbo(app, qbo_paid, qbo_paid.ledger_total)
    pay_xero(app, xero_paid, xero_paid.ledger_total)

    report = reconcile(app)

    assert report.ok, report.findings
    states = {r.doc_number: (r.payment_state, r.ledger_balance) for r in records(app, "qbo-co") + records(app, "xero-co")}
    assert states[qbo_part.doc_number] == ("part_paid", qbo_part.ledger_total - D("10.00"))
    assert states[qbo_paid.doc_number] == ("paid", D("0.00"))
    assert states[xero_paid.doc_number] == ("paid", D("0.00"))
    assert sorted(state for state, _ in states.values()) == ["paid", "paid", "part_paid", "unpaid", "unpaid", "unpaid"]
    assert report.payment_summary().startswith("3 unpaid, 2 paid, 1 part_paid; owed ")
    assert all(r.payment_read_at is not None for r in records(app, "qbo-co"))


def test_explain_says_what_the_ledger_last_said_of_the_payment(pushed_backlog):
    app, _ = pushed_backlog
    record = records(app, "qbo-co")[0]
    pay_qbo(app, record, D("10.00"))
    reconcile(app)

    with app.store.unit_of_work() as uow:
        ending = explain_work_order(uow, record.work_order_id).ending()

    owed = record.ledger_total - D("10.00")
    assert f"; part-paid in the ledger ({owed} USD owed), read " in ending


def test_a_later_reconcile_sees_the_rest_paid(pushed_backlog):
    app, _ = pushed_backlog
    record = records(app, "xero-co")[0]
    pay_xero(app, record, D("5.00"))
    reconcile(app, company_id="xero-co")
    assert records(app, "xero-co")[0].payment_state == "part_paid"

    pay_xero(app, record, record.ledger_total - D("5.00"))
    reconcile(app, company_id="xero-co")

    assert (records(app, "xero-co")[0].payment_state, records(app, "xero-co")[0].ledger_balance) == ("paid", D("0.00"))


def test_an_invoice_voided_in_quickbooks_is_a_voided_finding_and_reads_as_voided(pushed_backlog):
    app, _ = pushed_backlog
    record = records(app, "qbo-co")[0]
    headers = {"Authorization": "Bearer admin"}
    invoice = httpx.get(f"{app.sandbox_url}/v3/company/{REALM}/invoice/{record.ledger_id}", headers=headers).json()
    httpx.post(f"{app.sandbox_url}/v3/company/{REALM}/invoice", params={"operation": "void"}, headers=headers,
               json={"Id": record.ledger_id, "SyncToken": invoice["Invoice"]["SyncToken"]}).raise_for_status()

    report = reconcile(app, company_id="qbo-co")

    assert [(f.kind, f.doc_number, f.found) for f in report.findings] == [
        ("voided_in_ledger", record.doc_number, "VOIDED")]
    assert records(app, "qbo-co")[0].payment_state == "voided"
