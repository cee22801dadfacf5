"""The QBO sandbox voids invoices and takes CreditMemos as QBO does, driven by python-quickbooks (rules: sandbox.qbo_credits)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from quickbooks import QuickBooks
from quickbooks import exceptions as qbx
from quickbooks.batch import batch_create
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment

from sandbox.qbo_schema import FIELDS


def customer(qb: QuickBooks, name: str = "Acme Plumbing") -> str:
    return str(Customer.from_json({"DisplayName": name}).save(qb=qb).Id)


def line(amount: str, tax: str = "NON", qty: int = 1) -> dict[str, Any]:
    return {"DetailType": "SalesItemLineDetail", "Amount": float(Decimal(amount) * qty),
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": qty, "UnitPrice": float(amount),
                                    "TaxCodeRef": {"value": tax}}}


def invoice(qb: QuickBooks, customer_id: str, amount: str = "100.00", **fields: Any) -> Invoice:
    return Invoice.from_json({"CustomerRef": {"value": customer_id}, "Line": [line(amount)], **fields}).save(qb=qb)


def credit_memo(customer_id: str, *lines: dict[str, Any], **fields: Any) -> CreditMemo:
    return CreditMemo.from_json({"CustomerRef": {"value": customer_id}, "Line": list(lines), **fields})


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def refused(action: Any) -> qbx.QuickbooksException:
    with pytest.raises(qbx.QuickbooksException) as caught:
        action()
    return caught.value


# ---- void ------------------------------------------------------------------------------------------------


def test_a_voided_invoice_stays_readable_with_its_line_amounts_quantities_total_and_balance_at_zero(
        qb: QuickBooks) -> None:
    made = invoice(qb, customer(qb), "95.00")
    answer = made.void(qb=qb)
    assert money(answer["Invoice"]["TotalAmt"]) == 0 and money(answer["Invoice"]["Balance"]) == 0
    read = Invoice.get(made.Id, qb=qb)
    assert read.DocNumber == made.DocNumber and read.CustomerRef.value == made.CustomerRef.value
    assert (money(read.TotalAmt), money(read.Balance)) == (0, 0)
    assert [money(item.Amount) for item in read.Line] == [0, 0]  # the sales line and the subtotal line
    assert money(read.Line[0].SalesItemLineDetail.Qty) == 0


def test_voiding_a_taxed_invoice_zeroes_its_tax(qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = Invoice.from_json({"CustomerRef": {"value": buyer}, "Line": [line("100.00", "TAX")]}).save(qb=qb)
    assert money(made.TxnTaxDetail.TotalTax) > 0
    made.void(qb=qb)
    read = Invoice.get(made.Id, qb=qb)
    assert money(read.TxnTaxDetail.TotalTax) == 0 and not read.TxnTaxDetail.TaxLine and money(read.TotalAmt) == 0


def test_voiding_prepends_voided_to_the_private_note_or_sets_it_when_there_is_none(qb: QuickBooks) -> None:
    buyer = customer(qb)
    noted, bare = invoice(qb, buyer, PrivateNote="job 4411"), invoice(qb, buyer)
    noted.void(qb=qb)
    bare.void(qb=qb)
    note = Invoice.get(noted.Id, qb=qb).PrivateNote
    assert note.startswith("Voided") and note.endswith("job 4411")
    assert Invoice.get(bare.Id, qb=qb).PrivateNote == "Voided"


def test_voiding_raises_the_invoices_sync_token_by_one(qb: QuickBooks) -> None:
    made = invoice(qb, customer(qb))
    made.void(qb=qb)
    assert Invoice.get(made.Id, qb=qb).SyncToken == str(int(made.SyncToken) + 1)


def test_voiding_with_a_stale_sync_token_is_refused_with_5010_and_leaves_the_invoice(qb: QuickBooks) -> None:
    made = invoice(qb, customer(qb), "60.00")
    edited = Invoice.get(made.Id, qb=qb)
    edited.PrivateNote = "edited"
    edited.save(qb=qb)
    assert refused(lambda: made.void(qb=qb)).error_code == 5010
    assert money(Invoice.get(made.Id, qb=qb).TotalAmt) == Decimal("60.00")


def test_voiding_an_unknown_invoice_is_refused_with_610(qb: QuickBooks) -> None:
    ghost = Invoice.from_json({"Id": "999", "SyncToken": "0"})
    assert refused(lambda: ghost.void(qb=qb)).error_code == 610


def test_an_invoice_with_a_payment_applied_is_not_voided(qb: QuickBooks) -> None:
    buyer = customer(qb)
    made = invoice(qb, buyer, "100.00")
    Payment.from_json({"CustomerRef": {"value": buyer}, "TotalAmt": 30.0,
                       "Line": [{"Amount": 30.0, "LinkedTxn": [{"TxnId": made.Id, "TxnType": "Invoice"}]}]}).save(qb=qb)
    current = Invoice.get(made.Id, qb=qb)
    assert refused(lambda: current.void(qb=qb)).error_code == 6000
    after = Invoice.get(made.Id, qb=qb)
    assert (money(after.TotalAmt), money(after.Balance)) == (Decimal("100.00"), Decimal("70.00"))


def test_an_invoice_already_voided_is_not_voided_again(qb: QuickBooks) -> None:
    made = invoice(qb, customer(qb), PrivateNote="first")
    made.void(qb=qb)
    again = Invoice.get(made.Id, qb=qb)
    assert refused(lambda: again.void(qb=qb)).error_code == 6000
    assert Invoice.get(made.Id, qb=qb).PrivateNote.count("Voided") == 1


def test_other_operations_on_an_invoice_are_still_unsupported(qb: QuickBooks, qbo: httpx.Client) -> None:
    made = invoice(qb, customer(qb))
    answer = qbo.post("/invoice", params={"operation": "refund"}, json={"Id": made.Id, "SyncToken": made.SyncToken})
    assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "500"


# ---- credit memo -----------------------------------------------------------------------------------------


def test_a_credit_memo_totals_its_lines_and_its_balance_and_remaining_credit_are_that_total(qb: QuickBooks) -> None:
    buyer = customer(qb)
    saved = credit_memo(buyer, line("95.00", qty=2), line("45.00"), DocNumber="CM-1", TxnDate="2026-03-05",
                        PrivateNote="refund for visit").save(qb=qb)
    assert saved.Id and saved.DocNumber == "CM-1" and saved.TxnDate == "2026-03-05"
    assert money(saved.TotalAmt) == Decimal("235.00")
    assert money(saved.Balance) == money(saved.RemainingCredit) == Decimal("235.00")
    assert saved.PrivateNote == "refund for visit" and saved.CustomerRef.value == buyer


def test_a_taxed_credit_memo_is_taxed_exactly_as_an_invoice_with_the_same_lines(qb: QuickBooks) -> None:
    buyer = customer(qb)
    billed = Invoice.from_json({"CustomerRef": {"value": buyer}, "Line": [line("100.00", "TAX")]}).save(qb=qb)
    credited = credit_memo(buyer, line("100.00", "TAX")).save(qb=qb)
    assert money(credited.TxnTaxDetail.TotalTax) == money(billed.TxnTaxDetail.TotalTax) > 0
    assert money(credited.TotalAmt) == money(billed.TotalAmt) == Decimal("100.00") + money(billed.TxnTaxDetail.TotalTax)
    assert money(credited.Balance) == money(credited.TotalAmt)


def test_a_credit_memo_reads_back_by_id_and_by_query(qb: QuickBooks) -> None:
    saved = credit_memo(customer(qb), line("20.00"), DocNumber="CM-7").save(qb=qb)
    read = CreditMemo.get(saved.Id, qb=qb)
    assert read.DocNumber == "CM-7" and money(read.TotalAmt) == Decimal("20.00")
    assert [memo.Id for memo in CreditMemo.all(qb=qb)] == [saved.Id]
    assert [memo.Id for memo in CreditMemo.query("select * from CreditMemo where DocNumber = 'CM-7'", qb=qb)] == [saved.Id]


def test_a_credit_memo_without_a_customer_is_refused_with_2020(qbo: httpx.Client) -> None:
    answer = qbo.post("/creditmemo", json={"Line": [line("10.00")]})
    assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "2020"


def test_a_credit_memo_for_an_unknown_customer_is_refused_with_2500(qb: QuickBooks) -> None:
    assert refused(lambda: credit_memo("999", line("10.00")).save(qb=qb)).error_code == 2500


def test_a_credit_memo_without_lines_is_refused_with_6000(qb: QuickBooks) -> None:
    assert refused(lambda: credit_memo(customer(qb)).save(qb=qb)).error_code == 6000
    assert CreditMemo.count(qb=qb) == 0


def test_a_credit_memo_line_whose_amount_is_not_qty_times_price_is_refused_with_6070(qb: QuickBooks) -> None:
    wrong = {**line("10.00", qty=3), "Amount": 25.0}
    assert refused(lambda: credit_memo(customer(qb), wrong).save(qb=qb)).error_code == 6070


def test_a_credit_memo_doc_number_over_21_characters_is_refused_with_2050(qb: QuickBooks) -> None:
    assert refused(lambda: credit_memo(customer(qb), line("10.00"), DocNumber="C" * 22).save(qb=qb)).error_code == 2050


def test_a_second_credit_memo_with_the_same_doc_number_is_refused_with_6140(qb: QuickBooks) -> None:
    buyer = customer(qb)
    credit_memo(buyer, line("10.00"), DocNumber="CM-2").save(qb=qb)
    assert refused(lambda: credit_memo(buyer, line("10.00"), DocNumber="CM-2").save(qb=qb)).error_code == 6140
    assert CreditMemo.count(qb=qb) == 1


def test_an_unknown_credit_memo_field_is_refused_with_2010_and_every_field_the_sdk_sends_is_known(
        qb: QuickBooks, qbo: httpx.Client) -> None:
    body = json.loads(credit_memo(customer(qb), line("10.00")).to_json())
    for wrong in ({**body, "Colour": "red"}, {**body, "Line": [{**body["Line"][0], "Colour": "red"}]}):
        answer = qbo.post("/creditmemo", json=wrong)
        assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "2010"
    sdk_fields = set(CreditMemo().__dict__) | set(CreditMemo.class_dict) | set(CreditMemo.list_dict)
    assert {f for f in sdk_fields if f[0].isupper() or f in ("domain", "sparse")} <= set(FIELDS["CreditMemo"])
    assert qbo.post("/creditmemo", json=body).status_code == 200


def test_a_credit_memo_can_be_a_batch_item(qb: QuickBooks) -> None:
    done = batch_create([credit_memo(customer(qb), line("40.00"))], qb=qb)
    assert not done.faults and len(done.successes) == 1
    assert money(CreditMemo.all(qb=qb)[0].Balance) == Decimal("40.00")


def test_changing_a_stored_credit_memo_is_not_served(qb: QuickBooks) -> None:
    saved = credit_memo(customer(qb), line("10.00")).save(qb=qb)
    saved.PrivateNote = "changed"
    assert refused(lambda: saved.save(qb=qb)).error_code == 500
