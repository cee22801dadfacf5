"""push_batch on fakes: exactly one invoice per draft, an uncertain create looked up before any resend."""

from __future__ import annotations

import pytest

from connectors.errors import RejectedError, RetriableError, UncertainOutcomeError
from exceptions_queue.cases import CaseKind
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from tests.fakes import csv_job
from workorders.push import PushStatus


def prepared(app, company, feed, *jobs):
    """The jobs pulled and prepared: each one a ready draft."""
    feed(list(jobs))
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")


def statuses(app) -> dict[str, PushStatus]:
    with app.store.read() as uow:
        return {record.doc_number: record.status for record in uow.push_records.all()}


def no_sleep(seconds: float) -> None:
    pass


def test_a_draft_is_pushed_once_and_a_second_run_pushes_nothing(app, company, feed):
    prepared(app, company, feed, csv_job("J1", "1001"))
    ledger = app.ledger_for(company)

    first = push_batch(app, company, sleep=no_sleep)
    second = push_batch(app, company, sleep=no_sleep)

    assert (first.pushed, second.pushed) == (1, 0)
    assert [invoice.doc_number for invoice in ledger.invoices.values()] == ["AC-1001"]
    assert ledger.calls.count("create_invoice") + ledger.calls.count("create_invoices") == 1
    assert statuses(app) == {"AC-1001": PushStatus.pushed}


def test_an_uncertain_create_that_landed_is_found_by_doc_number_and_never_sent_again(app, company, feed):
    prepared(app, company, feed, csv_job("J1", "1001"))
    ledger = app.ledger_for(company)
    ledger.fail_next_create(UncertainOutcomeError("read timed out", system="quickbooks"), landed=True)

    with pytest.raises(UncertainOutcomeError):
        push_batch(app, company, sleep=no_sleep)
    assert statuses(app) == {"AC-1001": PushStatus.uncertain}
    ledger.calls.clear()

    again = push_batch(app, company, sleep=no_sleep)

    assert again.pushed == 1
    assert "create_invoice" not in ledger.calls and ledger.calls[0] == "find_invoices"
    assert len(ledger.invoices) == 1 and statuses(app) == {"AC-1001": PushStatus.pushed}


def test_an_uncertain_create_that_never_landed_is_looked_up_first_then_sent(app, company, feed):
    prepared(app, company, feed, csv_job("J1", "1001"))
    ledger = app.ledger_for(company)
    ledger.fail_next_create(UncertainOutcomeError("connection reset", system="quickbooks"), landed=False)
    with pytest.raises(UncertainOutcomeError):
        push_batch(app, company, sleep=no_sleep)
    ledger.calls.clear()

    again = push_batch(app, company, sleep=no_sleep)

    assert again.pushed == 1
    assert ledger.calls.index("find_invoices") < ledger.calls.index("create_invoice")
    assert len(ledger.invoices) == 1


def test_a_rejected_create_opens_a_case_with_the_ledgers_message(app, company, feed):
    prepared(app, company, feed, csv_job("J1", "1001"))
    app.ledger_for(company).fail_next_create(
        RejectedError("Invalid tax code", code="6000", system="quickbooks", operation="create_invoice"))

    counts = push_batch(app, company, sleep=no_sleep)

    assert (counts.pushed, counts.rejected) == (0, 1)
    assert counts.cases_opened[CaseKind.ledger_rejected.value] == 1
    assert statuses(app) == {"AC-1001": PushStatus.rejected}
    with app.store.read() as uow:
        [case] = uow.cases.list(kinds=(CaseKind.ledger_rejected,))
        assert "Invalid tax code" in case.summary and case.work_order_id == "csv:J1"


def test_a_doc_number_taken_by_another_amount_opens_a_case_instead_of_a_second_invoice(app, company, feed):
    prepared(app, company, feed, csv_job("J1", "1001"))
    ledger = app.ledger_for(company)
    someone = ledger.create_customer(name="Someone Else", email=None)
    ledger.create_invoice({"DocNumber": "AC-1001", "CustomerRef": {"value": someone}, "Line": [{"Amount": 5}]},
                          idempotency_key="made-by-hand")

    counts = push_batch(app, company, sleep=no_sleep)

    assert counts.rejected == 1 and len(ledger.invoices) == 1
    with app.store.read() as uow:
        [case] = uow.cases.list(kinds=(CaseKind.ledger_rejected,))
        assert "not this job's 89.00" in case.summary


def test_a_ledger_with_a_batch_create_sends_the_whole_claim_in_one_request(app, company, feed):
    prepared(app, company, feed, csv_job("J1", "1001"), csv_job("J2", "1002", unit_price="120.00"),
             csv_job("J3", "1003", unit_price="150.00"))
    ledger = app.ledger_for(company)

    counts = push_batch(app, company, sleep=no_sleep)

    assert counts.pushed == 3
    assert ledger.calls.count("create_invoices") == 1 and "create_invoice" not in ledger.calls


def test_a_ledger_without_a_batch_create_gets_one_create_per_draft(app, company, feed):
    prepared(app, company, feed, csv_job("J1", "1001"), csv_job("J2", "1002", unit_price="120.00"))
    ledger = app.ledger_for(company)
    ledger.max_batch = 1

    counts = push_batch(app, company, sleep=no_sleep)

    assert counts.pushed == 2
    assert ledger.calls.count("create_invoice") == 2 and "create_invoices" not in ledger.calls


def test_a_lost_batch_answer_leaves_every_record_uncertain_and_the_next_run_finds_them(app, company, feed):
    prepared(app, company, feed, csv_job("J1", "1001"), csv_job("J2", "1002", unit_price="120.00"))
    ledger = app.ledger_for(company)
    ledger.fail_next_create(UncertainOutcomeError("read timed out", system="quickbooks"), landed=True)
    with pytest.raises(UncertainOutcomeError):
        push_batch(app, company, sleep=no_sleep)
    assert set(statuses(app).values()) == {PushStatus.uncertain}

    again = push_batch(app, company, sleep=no_sleep)

    assert again.pushed == 2 and len(ledger.invoices) == 2
    assert ledger.calls.count("create_invoices") == 1  # the first, lost one: found by look-up afterwards


def test_a_throttled_create_waits_the_ledgers_retry_after_and_is_sent_again(app, company, feed):
    prepared(app, company, feed, csv_job("J1", "1001"))
    ledger = app.ledger_for(company)
    ledger.fail_next_create(RetriableError("429 Too Many Requests", retry_after=2.0, system="quickbooks"))
    slept: list[float] = []

    counts = push_batch(app, company, sleep=slept.append)

    assert counts.pushed == 1 and slept == [2.0] and len(ledger.invoices) == 1
