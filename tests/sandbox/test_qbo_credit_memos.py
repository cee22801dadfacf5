"""What a correction asks of QBO, driven by python-quickbooks: sparse updates, replayed voids and credit memos."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from quickbooks import QuickBooks
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment

from tests.sandbox.test_qbo_void_and_credit import credit_memo, customer, invoice, line, money, refused


def sparse(qb: QuickBooks, made: Invoice, request_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A sparse update of ``made`` with exactly ``fields``, sent through the SDK's client as Closeout sends it."""
    body = {"Id": made.Id, "SyncToken": made.SyncToken, "sparse": True, **fields}
    return qb.update_object("Invoice", json.dumps(body), request_id=request_id)["Invoice"]


def void(qb: QuickBooks, made: Invoice, request_id: str) -> dict[str, Any]:
    """``Invoice.void``'s request (its URL, body and ``operation=void``) with a requestid, which the SDK's omits."""
    url = f"{qb.api_url}/company/{qb.company_id}/invoice"
    body = json.dumps({"Id": made.Id, "SyncToken": made.SyncToken})
    return qb.post(url, body, params={"operation": "void"}, request_id=request_id)["Invoice"]


# ---- sparse update ---------------------------------------------------------------------------------------


def test_a_sparse_update_replaces_the_lines_recomputes_the_totals_and_keeps_the_fields_it_does_not_send(
        qb: QuickBooks) -> None:
    made = invoice(qb, customer(qb), "100.00", DocNumber="WO-1", PrivateNote="job 1",
                   CustomerMemo={"value": "Job WO-1"})
    updated = sparse(qb, made, Line=[line("95.00"), line("45.00", qty=2)])
    read = Invoice.get(made.Id, qb=qb)
    assert (updated["Id"], read.DocNumber, read.SyncToken) == (made.Id, "WO-1", "1")
    assert money(read.TotalAmt) == money(read.Balance) == Decimal("185.00")
    assert [money(item.Amount) for item in read.Line] == [Decimal("95.00"), Decimal("90.00"), Decimal("185.00")]
    assert read.PrivateNote == "job 1" and read.CustomerMemo.value == "Job WO-1"


def test_a_sparse_update_that_sends_no_lines_keeps_the_lines(qb: QuickBooks) -> None:
    made = invoice(qb, customer(qb), "60.00")
    sparse(qb, made, PrivateNote="only the note")
    read = Invoice.get(made.Id, qb=qb)
    assert read.PrivateNote == "only the note" and money(read.TotalAmt) == Decimal("60.00")


def test_a_sparse_update_on_the_token_before_the_last_save_is_refused_with_5010_and_changes_nothing(
        qb: QuickBooks) -> None:
    made = invoice(qb, customer(qb), "60.00")
    sparse(qb, made, PrivateNote="the office's edit")
    assert refused(lambda: sparse(qb, made, Line=[line("10.00")])).error_code == 5010
    read = Invoice.get(made.Id, qb=qb)
    assert money(read.TotalAmt) == Decimal("60.00") and read.PrivateNote == "the office's edit"


def test_a_sparse_update_of_a_part_paid_invoice_keeps_the_payment_in_its_balance(qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "100.00")
    Payment.from_json({"CustomerRef": {"value": buyer}, "TotalAmt": 30.0,
                       "Line": [{"Amount": 30.0, "LinkedTxn": [{"TxnId": made.Id, "TxnType": "Invoice"}]}]}).save(qb=qb)
    updated = sparse(qb, Invoice.get(made.Id, qb=qb), Line=[line("80.00")])
    assert (money(updated["TotalAmt"]), money(updated["Balance"])) == (Decimal("80.00"), Decimal("50.00"))


def test_a_voided_invoice_is_not_updated(qb: QuickBooks) -> None:
    made = invoice(qb, customer(qb), "60.00", PrivateNote="job 2")
    made.void(qb=qb)
    voided = Invoice.get(made.Id, qb=qb)
    assert refused(lambda: sparse(qb, voided, Line=[line("60.00")])).error_code == 6000
    after = Invoice.get(made.Id, qb=qb)
    assert money(after.TotalAmt) == 0 and after.SyncToken == voided.SyncToken


def test_a_replayed_update_request_id_answers_the_first_update_and_writes_nothing(qb: QuickBooks) -> None:
    made = invoice(qb, customer(qb), "60.00")
    first = sparse(qb, made, "amend-1", Line=[line("20.00")])
    again = sparse(qb, Invoice.get(made.Id, qb=qb), "amend-1", Line=[line("20.00")])
    assert again == first and Invoice.get(made.Id, qb=qb).SyncToken == "1"


# ---- void with a requestid -------------------------------------------------------------------------------


def test_a_repeated_void_request_id_replays_the_first_void_instead_of_refusing_a_second(qb: QuickBooks) -> None:
    made = invoice(qb, customer(qb), "60.00", PrivateNote="job 3")
    first = void(qb, made, "void-1")
    assert void(qb, made, "void-1") == first and money(first["TotalAmt"]) == 0
    assert Invoice.get(made.Id, qb=qb).PrivateNote.count("Voided") == 1


# ---- credit memos ----------------------------------------------------------------------------------------


def test_credit_memos_are_found_by_a_list_of_doc_numbers_and_never_among_invoices(qb: QuickBooks) -> None:
    buyer = customer(qb)
    one, _, three = (credit_memo(buyer, line("10.00"), DocNumber=f"CM-{n}").save(qb=qb) for n in (1, 2, 3))
    found = CreditMemo.choose(["CM-1", "CM-3", "CM-9"], field="DocNumber", qb=qb)
    assert sorted(memo.Id for memo in found) == sorted([one.Id, three.Id])
    assert Invoice.choose(["CM-1"], field="DocNumber", qb=qb) == []


def test_an_unknown_credit_memo_id_is_610(qb: QuickBooks) -> None:
    assert refused(lambda: CreditMemo.get("999", qb=qb)).error_code == 610


def test_a_repeated_credit_memo_request_id_replays_the_first_credit(qb: QuickBooks) -> None:
    buyer = customer(qb)
    first = credit_memo(buyer, line("25.00"), DocNumber="CM-5").save(qb=qb, request_id="credit-1")
    again = credit_memo(buyer, line("25.00"), DocNumber="CM-5").save(qb=qb, request_id="credit-1")
    assert again.Id == first.Id and CreditMemo.count(qb=qb) == 1


def test_an_invoice_cannot_take_a_credit_memos_number_nor_a_credit_memo_an_invoices(qb: QuickBooks) -> None:
    buyer = customer(qb)
    credit_memo(buyer, line("10.00"), DocNumber="NW-7").save(qb=qb)
    taken = refused(lambda: invoice(qb, buyer, DocNumber="NW-7"))
    assert taken.error_code == 6140 and "assigned to TxnType=Credit Memo" in taken.detail
    invoice(qb, buyer, DocNumber="NW-8")
    taken = refused(lambda: credit_memo(buyer, line("10.00"), DocNumber="NW-8").save(qb=qb))
    assert taken.error_code == 6140 and "assigned to TxnType=Invoice" in taken.detail


def test_a_credit_memo_leaves_the_customers_invoices_owing_what_they_owed(qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "100.00", DocNumber="NW-9")
    credit = credit_memo(buyer, line("40.00"), DocNumber="NW-9-CR", PrivateNote="Credit for invoice NW-9").save(qb=qb)
    assert money(Invoice.get(made.Id, qb=qb).Balance) == Decimal("100.00")
    assert money(credit.RemainingCredit) == Decimal("40.00") and credit.PrivateNote.startswith("Credit for invoice")
