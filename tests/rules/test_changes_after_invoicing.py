"""What the invoice would say decides: the pure diff of two drafts, and not_invoiced_before judging by it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from workorders.anomalies import AnomalyCode
from workorders.corrections import NOT_BILLABLE, diff_drafts
from workorders.decisions import Outcome
from workorders.drafts import DraftLine, InvoiceDraft
from workorders.rules import InvoicedVersion, RuleContext, RuleSettings, Verdict, evaluate
from workorders.work_order import Billing, WorkOrderStatus

DEFAULTS = RuleSettings()


def line(description: str = "Trip charge", quantity: str = "1", price: str = "89.00", **fields: Any) -> DraftLine:
    return DraftLine(description=description, quantity=Decimal(quantity), unit_price=Decimal(price),
                     item_ref=fields.pop("item_ref", "4"), tax_code=fields.pop("tax_code", "NON"),
                     kind=fields.pop("kind", "fee"), **fields)


def draft(version: int = 1, *lines: DraftLine, **fields: Any) -> InvoiceDraft:
    values: dict[str, Any] = dict(
        company="northwind", ledger="quickbooks", work_order_id="csv:J1", work_order_version=version,
        customer_name="Maple Street Bakery", customer_email="hello@maplestreetbakery.example", customer_ref=None,
        doc_number="NW-1001", txn_date=date(2026, 11, 16), currency="USD", memo="Job 1001", po_number=None,
        lines=lines or (line("Labour", "2", "125.00", kind="labour", item_ref="1"), line()),
        attachment_hashes=(),
    )
    return InvoiceDraft(**(values | fields))


# ---- the diff ------------------------------------------------------------------------------------


def test_a_draft_that_differs_only_by_version_and_key_is_not_a_billable_change():
    invoiced, new = draft(1), draft(4)
    assert invoiced.idempotency_key != new.idempotency_key

    diff = diff_drafts(invoiced, new)

    assert not diff.billable and diff.fields == () and diff.lines == ()
    assert diff.total_before == diff.total_after == Decimal("339.00")
    assert diff.describe() == ("total 339.00 -> 339.00",)


def test_a_new_photo_is_evidence_not_a_billable_change_and_the_diff_still_names_it():
    diff = diff_drafts(draft(1, attachment_hashes=("aaa",)), draft(2, attachment_hashes=("aaa", "bbb")))

    assert not diff.billable
    assert (diff.attachments_added, diff.attachments_removed) == (("bbb",), ())
    assert "attachment_hashes" in NOT_BILLABLE


def test_the_same_amount_written_another_way_and_lines_in_another_order_are_not_changes():
    labour, trip = line("Labour", "2", "125.00", kind="labour", item_ref="1"), line()
    reworded = line("Labour", "2.0", "125", kind="labour", item_ref="1")

    assert not diff_drafts(draft(1, labour, trip), draft(2, trip, reworded)).billable


def test_a_changed_price_is_one_changed_line_with_its_amount_and_the_total_before_and_after():
    invoiced = draft(1, line("Labour", "2", "125.00", kind="labour"), line())
    new = draft(2, line("Labour", "2", "140.00", kind="labour"), line())

    diff = diff_drafts(invoiced, new)

    assert diff.billable and diff.fields == ()
    (changed,) = diff.lines
    assert (changed.change, changed.description) == ("changed", "Labour")
    assert (changed.amount_before, changed.amount_after) == (Decimal("250.00"), Decimal("280.00"))
    assert [(f.field, f.before, f.after) for f in changed.fields] == [("unit_price", "125.00", "140.00")]
    assert diff.describe() == ("changed line 'Labour': unit_price 125.00 -> 140.00; amount 250.00 -> 280.00",
                               "total 339.00 -> 369.00")
    assert diff.summary() == "1 line(s) changed; total 339.00 -> 369.00"


def test_lines_added_and_removed_are_listed_with_their_amounts():
    invoiced = draft(1, line("Labour", "2", "125.00", kind="labour"), line())
    new = draft(2, line("Labour", "2", "125.00", kind="labour"), line("Second trip", price="95.00"))

    diff = diff_drafts(invoiced, new)

    assert [(c.change, c.description, c.amount_before, c.amount_after) for c in diff.lines] == [
        ("removed", "Trip charge", Decimal("89.00"), None), ("added", "Second trip", None, Decimal("95.00"))]
    assert diff.describe()[-1] == "total 339.00 -> 345.00"


def test_every_other_field_of_the_invoice_counts_po_customer_tax_code_memo_and_currency_alike():
    base = draft(1)
    for field, value in [("po_number", "PO-9"), ("customer_name", "Maple St Bakery"), ("customer_ref", "58"),
                         ("doc_number", "NW-1002"), ("currency", "CAD"), ("memo", "Job 1001; site Roseville"),
                         ("txn_date", date(2026, 11, 17))]:
        diff = diff_drafts(base, draft(2, **{field: value}))
        assert diff.billable and [f.field for f in diff.fields] == [field], field
    taxed = draft(2, line("Labour", "2", "125.00", kind="labour", item_ref="1"), line(tax_code="TAX"))
    (changed,) = diff_drafts(base, taxed).lines
    assert [f.field for f in changed.fields] == ["tax_code"]


def test_a_field_added_to_drafts_later_is_compared_without_being_named_anywhere():
    invoiced = draft(1, due_date=date(2026, 12, 16))

    diff = diff_drafts(invoiced, draft(2, due_date=date(2026, 12, 31)))

    assert [(f.field, f.before, f.after) for f in diff.fields] == [("due_date", "2026-12-16", "2026-12-31")]


def test_a_field_the_invoiced_draft_was_stored_without_is_not_a_change_of_the_job():
    stored = draft(1).model_dump(mode="json")
    del stored["due_date"]  # a draft kept before Closeout drafted due dates
    invoiced = InvoiceDraft.model_validate(stored)

    assert not diff_drafts(invoiced, draft(2, due_date=date(2026, 12, 16))).billable
    assert diff_drafts(draft(1, due_date=None), draft(2, due_date=date(2026, 12, 16))).billable


def test_the_evidence_is_plain_json_with_the_text_of_the_diff():
    diff = diff_drafts(draft(1), draft(2, po_number="PO-9"))

    evidence = diff.evidence()

    assert evidence["fields"] == [{"field": "po_number", "before": None, "after": "PO-9"}]
    assert evidence["diff"] == ["po_number (none) -> PO-9", "total 339.00 -> 339.00"]
    assert (evidence["total_before"], evidence["total_after"]) == ("339.00", "339.00")


# ---- the rule ------------------------------------------------------------------------------------


def invoiced_at(version: int, invoiced: InvoiceDraft | None) -> tuple[InvoicedVersion, ...]:
    return (InvoicedVersion(version=version, ledger="quickbooks", doc_number="NW-1001", status="pushed",
                            amount="214.00", ledger_id="77", draft=invoiced),)


def test_a_version_whose_invoice_is_unchanged_is_logged_as_needing_nothing_and_opens_no_case(build):
    order = build.order(version=4)
    context = RuleContext(invoiced=invoiced_at(3, draft(3, work_order_id=order.id)),
                          draft=draft(4, work_order_id=order.id))

    evaluation = evaluate(order, DEFAULTS, run_id="r", context=context)

    assert evaluation.verdict is Verdict.no_invoice and evaluation.anomalies == ()
    (decision,) = [d for d in evaluation.decisions if d.rule_id == "not_invoiced_before"]
    assert (decision.outcome, decision.rule_version) == (Outcome.no_invoice, 3)
    assert decision.reason.startswith("changed after invoicing; the invoice is unchanged (version 3 was invoiced")
    assert decision.evidence["decision"] == "invoice_unchanged"
    assert decision.evidence["invoiced_version"] == 3 and decision.evidence["new_version"] == 4


def test_a_billable_change_opens_changed_after_invoiced_with_the_diff_in_its_evidence(build):
    order = build.order(version=4)
    new = draft(4, line("Labour", "2", "140.00", kind="labour", item_ref="1"), line(), work_order_id=order.id)
    context = RuleContext(invoiced=invoiced_at(3, draft(3, work_order_id=order.id)), draft=new)

    evaluation = evaluate(order, DEFAULTS, run_id="r", context=context)

    assert evaluation.verdict is Verdict.blocked
    (anomaly,) = evaluation.anomalies
    assert anomaly.code is AnomalyCode.changed_after_invoiced
    assert "its invoice would change (1 line(s) changed; total 339.00 -> 369.00)" in anomaly.summary
    evidence = anomaly.evidence["decisions"][0]["evidence"]
    assert evidence["decision"] == "invoice_changed"
    assert evidence["changes"]["diff"] == [
        "changed line 'Labour': unit_price 125.00 -> 140.00; amount 250.00 -> 280.00", "total 339.00 -> 369.00"]


def test_a_cancelled_or_no_charge_job_is_a_change_even_if_its_draft_would_read_the_same(build):
    for changes in ({"status": WorkOrderStatus.cancelled}, {"billing": Billing.warranty}):
        order = build.order(version=4, **changes)
        context = RuleContext(invoiced=invoiced_at(3, draft(3, work_order_id=order.id)),
                              draft=draft(4, work_order_id=order.id))

        evaluation = evaluate(order, DEFAULTS, run_id="r", context=context)

        assert [a.code for a in evaluation.anomalies] == [AnomalyCode.changed_after_invoiced], changes
        assert "its invoice may have to go" in evaluation.blocking[0].evidence["not_compared"]


def test_without_this_versions_draft_or_the_invoiced_one_the_rule_counts_a_change(build):
    order = build.order(version=4)
    for context in (RuleContext(invoiced=invoiced_at(3, draft(3, work_order_id=order.id))),
                    RuleContext(invoiced=invoiced_at(3, None), draft=draft(4, work_order_id=order.id)),
                    RuleContext(invoiced=invoiced_at(3, draft(3, work_order_id=order.id)),
                                draft=draft(5, work_order_id=order.id))):
        evaluation = evaluate(order, DEFAULTS, run_id="r", context=context)
        assert evaluation.verdict is Verdict.blocked
        assert evaluation.blocking[0].evidence["decision"] == "invoice_changed"


def test_a_change_to_a_paid_invoice_says_it_is_paid_and_plans_a_supplementary_invoice_not_an_edit(build):
    order = build.order(version=4)
    paid = InvoicedVersion(version=3, ledger="quickbooks", doc_number="NW-1001", status="pushed", amount="339.00",
                           ledger_id="77", draft=draft(3, work_order_id=order.id), payment_state="paid",
                           ledger_balance="0.00")
    new = draft(4, line("Labour", "2", "140.00", kind="labour", item_ref="1"), line(), work_order_id=order.id)

    evaluation = evaluate(order, DEFAULTS, run_id="r", context=RuleContext(invoiced=(paid,), draft=new))

    (anomaly,) = evaluation.anomalies
    assert "(NW-1001, 339.00; paid in the ledger)" in anomaly.summary
    assert anomaly.summary.endswith("the correction it plans: supplementary invoice NW-1001-A for 30.00 before tax: "
                                    "'Labour' increased by 30.00")
    evidence = anomaly.evidence["decisions"][0]["evidence"]
    assert (evidence["payment_state"], evidence["ledger_balance"]) == ("paid", "0.00")
    assert evidence["plan"]["path"] == "credit_and_reissue" and "paid invoice is credited" in evidence["plan"]["why"]


def test_a_change_to_an_invoice_whose_payment_was_never_read_says_so_in_its_evidence(build):
    order = build.order(version=4)
    new = draft(4, line("Labour", "2", "140.00", kind="labour", item_ref="1"), line(), work_order_id=order.id)

    evaluation = evaluate(order, DEFAULTS, run_id="r",
                          context=RuleContext(invoiced=invoiced_at(3, draft(3, work_order_id=order.id)), draft=new))

    (anomaly,) = evaluation.anomalies
    evidence = anomaly.evidence["decisions"][0]["evidence"]
    assert evidence["payment_state"] == "not_read"
    assert evidence["plan"]["path"] == "credit_and_reissue" and "never read" in evidence["plan"]["why"]


def test_a_version_a_correction_brought_the_invoice_to_is_invoiced_already_and_never_drafted_again(build):
    order = build.order(version=4)
    corrected = (InvoicedVersion(version=4, ledger="quickbooks", doc_number="NW-1001", status="pushed",
                                 amount="214.00", ledger_id="77", draft=draft(4, work_order_id=order.id),
                                 corrected=True),)

    evaluation = evaluate(order, DEFAULTS, run_id="r", context=RuleContext(invoiced=corrected))

    assert evaluation.verdict is Verdict.no_invoice and evaluation.anomalies == ()
    (decision,) = [d for d in evaluation.decisions if d.rule_id == "not_invoiced_before"]
    assert decision.evidence["decision"] == "invoice_corrected"
    assert "a correction brought the invoice to this version" in decision.reason


def test_a_job_still_cancelled_after_its_invoice_was_voided_needs_nothing_more(build):
    order = build.order(version=5, status=WorkOrderStatus.cancelled)
    voided = (InvoicedVersion(version=4, ledger="quickbooks", doc_number="NW-1001", status="pushed", amount="0.00",
                              ledger_id="77", draft=None, corrected=True, cancelled=True),)

    evaluation = evaluate(order, DEFAULTS, run_id="r", context=RuleContext(invoiced=voided))

    assert evaluation.anomalies == ()
    (decision,) = [d for d in evaluation.decisions if d.rule_id == "not_invoiced_before"]
    assert decision.outcome is Outcome.no_invoice and "was voided or credited" in decision.reason
