"""The store keeps each correction step once, hands it to one worker at a time, and gives back a dead worker's."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from workorders.correction_plan import StepKind
from workorders.correction_steps import CorrectionStatus, CorrectionStep
from workorders.drafts import DraftLine, InvoiceDraft

STALE = timedelta(minutes=10)


def step(kind: StepKind = StepKind.credit_note, *, to_version: int = 2) -> CorrectionStep:
    draft = InvoiceDraft(company="acme", ledger="xero", work_order_id="csv:J1", work_order_version=to_version,
                         customer_name="Harbour Dental", customer_ref="C-9", doc_number="NW-1001-CR",
                         txn_date=date(2026, 11, 2), currency="NZD",
                         lines=(DraftLine(description="Valve", quantity="1", unit_price="89.00", item_ref="PARTS",
                                          tax_code="OUTPUT2"),))
    return CorrectionStep(key=f"csv:J1|xero|v1->v{to_version}|{kind.value}", request_key="cr-" + "a" * 32, kind=kind,
                          company="acme", ledger="xero", work_order_id="csv:J1", from_version=1, to_version=to_version,
                          doc_number="NW-1001-CR", invoice_ledger_id="inv-1", amount=Decimal("89.00"), draft=draft,
                          target=draft.model_copy(update={"doc_number": "NW-1001"}))


def record(store, *steps: CorrectionStep, actor: str = "casey") -> None:
    with store.unit_of_work() as uow:
        uow.corrections.record(list(steps), case_id=7, actor=actor)
        uow.commit()


def claim(store, keys):
    with store.unit_of_work() as uow:
        claimed = uow.corrections.claim(keys, stale_after=STALE)
        uow.commit()
    return claimed


def test_a_step_is_recorded_once_with_its_documents_and_a_second_record_changes_nothing(store):
    first = step()
    record(store, first)
    record(store, first.model_copy(update={"amount": Decimal("1.00")}), actor="someone else")

    with store.unit_of_work() as uow:
        (kept,) = uow.corrections.for_work_order("csv:J1")
    assert kept.step == first and (kept.status, kept.actor, kept.case_id) == (CorrectionStatus.planned, "casey", 7)
    assert kept.step.draft.lines[0].unit_price == Decimal("89.00") and kept.step.target.doc_number == "NW-1001"


def test_two_workers_claiming_one_step_get_it_once(store):
    record(store, step())
    with store.unit_of_work() as one, store.unit_of_work() as other:
        got = one.corrections.claim([step().key], stale_after=STALE)
        one.commit()
        also = other.corrections.claim([step().key], stale_after=STALE)
        other.commit()

    assert [r.attempts for r in got] == [1] and also == []


def test_an_uncertain_step_is_claimed_again_and_a_done_one_never(store):
    credit, void = step(), step(StepKind.void_invoice)
    record(store, credit, void)
    claim(store, [credit.key, void.key])
    with store.unit_of_work() as uow:
        uow.corrections.finish(credit.key, CorrectionStatus.uncertain, error="answer lost")
        uow.corrections.finish(void.key, CorrectionStatus.done, ledger_id="inv-1", ledger_total=Decimal("0.00"))
        uow.corrections.finish(void.key, CorrectionStatus.uncertain)  # done stays done
        uow.commit()

    again = claim(store, [credit.key, void.key])

    assert [(r.step.key, r.attempts) for r in again] == [(credit.key, 2)]
    with store.unit_of_work() as uow:
        (voided,) = uow.corrections.get([void.key])
    assert (voided.status, voided.ledger_id, voided.ledger_total) == (CorrectionStatus.done, "inv-1", Decimal("0.00"))


def test_a_step_left_sending_by_a_dead_worker_is_claimed_again_only_once_it_is_stale(store, clock):
    record(store, step())
    assert claim(store, [step().key])
    assert claim(store, [step().key]) == []
    clock.advance(minutes=11)

    (again,) = claim(store, [step().key])

    assert again.attempts == 2 and again.status is CorrectionStatus.sending
