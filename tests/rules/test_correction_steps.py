"""A plan's steps as the documents sent, each under its own key; and what a job is invoiced for after them (pure)."""

from __future__ import annotations

from decimal import Decimal

from tests.rules.test_correction_plan import FILTER, INVOICED, LABOUR, VALVE, draft, line, plan
from workorders.correction_plan import StepKind
from workorders.correction_steps import CorrectionRecord, CorrectionStatus, build_steps, invoiced_now

D = Decimal


def steps(new, state: str, *, gone: bool = False, customer_ref: str = "58"):
    return build_steps(plan(new, state, gone=gone), invoiced=INVOICED, invoice_ledger_id="77", from_version=1,
                       to_version=2, new=new, customer_ref=customer_ref)


def test_an_amendment_sends_the_whole_new_invoice_under_the_original_number_and_the_ledgers_customer():
    new = draft(2, LABOUR, line("Valve", "0.5", "89.00"))
    (update,) = steps(new, "unpaid")

    assert update.kind is StepKind.update_invoice and update.invoice_ledger_id == "77"
    assert update.draft.doc_number == "NW-1001" and update.draft.customer_ref == "58"
    assert update.draft.total == D("294.50") == update.amount
    assert update.target.customer_ref is None  # what later versions are compared with is the draft's own
    assert update.key == "csv:J1|quickbooks|v1->v2|update_invoice" and update.request_key.startswith("cr-")


def test_a_returned_part_on_a_paid_invoice_credits_that_quantity_at_its_price_and_an_added_line_is_billed():
    new = draft(2, line("Labour", "1", "125.00", kind="labour"), VALVE, FILTER)
    credit, extra = steps(new, "paid")

    assert (credit.kind, credit.doc_number, credit.amount) == (StepKind.credit_note, "NW-1001-CR", D("125.00"))
    assert [(l.description, l.quantity, l.unit_price) for l in credit.draft.lines] == [("Labour", D("1"), D("125.00"))]
    assert credit.draft.memo == "Credit for invoice NW-1001" and credit.draft.due_date is None
    assert (extra.kind, extra.doc_number, extra.draft.total) == (StepKind.supplementary_invoice, "NW-1001-A", D("30.00"))
    assert [l.description for l in extra.draft.lines] == ["Filter"]


def test_a_price_corrected_down_is_credited_as_one_unit_of_the_difference():
    (credit,) = steps(draft(2, LABOUR, line("Valve", "1", "80.00")), "paid")
    assert [(l.description, l.quantity, l.unit_price) for l in credit.draft.lines] == [("Valve (reduced)", 1, D("9.00"))]


def test_a_cancelled_job_voids_an_unpaid_invoice_sending_no_document_and_billing_nothing_after():
    (void,) = steps(None, "unpaid", gone=True)
    assert (void.kind, void.draft, void.target) == (StepKind.void_invoice, None, None)


def test_the_same_correction_planned_twice_has_the_same_keys_and_another_version_other_keys():
    new = draft(2, LABOUR, line("Valve", "0.5", "89.00"))
    first, again = steps(new, "unpaid"), steps(new, "unpaid")
    assert [s.key for s in first] == [s.key for s in again]
    assert [s.request_key for s in first] == [s.request_key for s in again]
    other = build_steps(plan(new, "unpaid"), invoiced=INVOICED, invoice_ledger_id="77", from_version=1, to_version=3,
                        new=new.model_copy(update={"work_order_version": 3}))
    assert first[0].key != other[0].key


def done(step, status=CorrectionStatus.done):
    return CorrectionRecord(step=step, status=status, ledger_id="9")


def test_a_job_is_invoiced_for_its_latest_correction_only_once_every_step_of_it_is_done():
    new = draft(2, line("Labour", "1", "125.00", kind="labour"), VALVE, FILTER)
    credit, extra = steps(new, "paid")

    half = invoiced_now(1, INVOICED, [done(credit), done(extra, CorrectionStatus.uncertain)])
    whole = invoiced_now(1, INVOICED, [done(credit), done(extra)])

    assert (half.version, half.draft, half.corrected) == (1, INVOICED, False)
    assert (whole.version, whole.corrected, whole.amount) == (2, True, new.total)
    assert whole.draft.doc_number == "NW-1001"


def test_a_voided_invoice_leaves_the_job_billed_nothing():
    (void,) = steps(None, "unpaid", gone=True)
    now = invoiced_now(1, INVOICED, [done(void)])
    assert (now.version, now.draft, now.amount) == (2, None, D("0.00"))
