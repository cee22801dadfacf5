"""Prepare on fakes after an invoice went out: a touched job is logged as unchanged, a billable change is a case."""

from __future__ import annotations

from exceptions_queue.cases import CaseKind
from services.explain import explain_work_order
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from tests.fakes import csv_job
from workorders.decisions import Outcome
from workorders.push import PushStatus


def invoiced_job(app, company, feed) -> None:
    feed([csv_job("J1", "1001")])
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    assert push_batch(app, company).pushed == 1


def pull_again(app, company, feed, name: str, **cells: str) -> None:
    feed([csv_job("J1", "1001", **cells)], name=name)
    pull_source(app, company, company.sources[0])


def test_a_touched_invoiced_job_is_stored_as_a_new_version_with_a_logged_decision_and_no_case(app, company, feed):
    invoiced_job(app, company, feed)
    pull_again(app, company, feed, "touched", updated_at="2026-11-20T08:00:00-06:00",
               notes="Checked the unit. Customer called to say thanks.")

    counts = prepare_batch(app, run_id="run-2")

    assert (counts.evaluated, counts.drafts, counts.blocked, counts.no_invoice) == (1, 0, 0, 1)
    assert sum(counts.cases_opened.values()) == 0
    with app.store.read() as uow:
        assert [r.work_order_version for r in uow.push_records.all()] == [1]
        assert uow.cases.list(work_order_id="csv:J1") == []
        found = explain_work_order(uow, "1001")
    assert [v.version for v in found.versions] == [1, 2]
    (decision,) = [d for d in found.decisions[2] if d.rule_id == "not_invoiced_before"]
    assert decision.outcome is Outcome.no_invoice and decision.evidence["decision"] == "invoice_unchanged"
    assert found.ending().startswith("no invoice: not_invoiced_before: changed after invoicing; the invoice is "
                                     "unchanged (version 1 was invoiced (AC-1001, 89.00))")


def test_a_changed_price_after_invoicing_opens_the_case_with_the_invoice_diff(app, company, feed):
    invoiced_job(app, company, feed)
    pull_again(app, company, feed, "touched", updated_at="2026-11-20T08:00:00-06:00")
    prepare_batch(app, run_id="run-2")
    pull_again(app, company, feed, "repriced", updated_at="2026-11-21T08:00:00-06:00", unit_price="95.00")

    counts = prepare_batch(app, run_id="run-3")

    assert (counts.drafts, counts.cases_opened[CaseKind.changed_after_invoiced.value]) == (0, 1)
    with app.store.read() as uow:
        assert [(r.work_order_version, r.status) for r in uow.push_records.all()] == [(1, PushStatus.pushed)]
        (case,) = uow.cases.list(work_order_id="csv:J1", kinds=[CaseKind.changed_after_invoiced])
    assert case.work_order_version == 3
    evidence = case.evidence["decisions"][0]["evidence"]
    assert evidence["decision"] == "invoice_changed" and evidence["invoiced_version"] == 1
    assert evidence["changes"]["diff"] == [
        "changed line 'Trip charge': unit_price 89.00 -> 95.00; amount 89.00 -> 95.00", "total 89.00 -> 95.00"]


def drafted_job(app, company, feed) -> None:
    feed([csv_job("J1", "1001")])
    pull_source(app, company, company.sources[0])
    assert prepare_batch(app, run_id="run-1").drafts == 1


def test_a_job_cancelled_before_its_draft_was_pushed_withdraws_the_draft_and_sends_nothing(app, company, feed):
    drafted_job(app, company, feed)
    pull_again(app, company, feed, "cancelled", updated_at="2026-11-20T08:00:00-06:00", status="cancelled")

    counts = prepare_batch(app, run_id="run-2")

    assert (counts.drafts_superseded, counts.drafts, counts.no_invoice, sum(counts.cases_opened.values())) == (1, 0, 1, 0)
    assert push_batch(app, company).pushed == 0
    assert app.ledgers["acme"].invoices == {}
    with app.store.read() as uow:
        (record,) = uow.push_records.all()
        found = explain_work_order(uow, "1001")
    assert (record.work_order_version, record.status) == (1, PushStatus.superseded)
    assert record.last_error == "superseded by version 2 before it reached the ledger"
    assert found.ending().startswith("no invoice: cancelled_no_invoice")


def test_a_job_repriced_before_its_draft_was_pushed_is_invoiced_once_at_the_new_price(app, company, feed):
    drafted_job(app, company, feed)
    pull_again(app, company, feed, "repriced", updated_at="2026-11-20T08:00:00-06:00", unit_price="95.00")

    counts = prepare_batch(app, run_id="run-2")
    pushed = push_batch(app, company)

    assert (counts.drafts_superseded, counts.drafts, sum(counts.cases_opened.values())) == (1, 1, 0)
    assert pushed.pushed == 1
    (invoice,) = app.ledgers["acme"].invoices.values()
    with app.store.read() as uow:
        statuses = sorted((r.work_order_version, r.status) for r in uow.push_records.all())
    assert statuses == [(1, PushStatus.superseded), (2, PushStatus.pushed)]
    assert invoice.total == 95


def test_a_draft_a_worker_already_holds_is_not_withdrawn_and_the_newer_version_meets_it_as_invoiced(
        app, company, feed):
    drafted_job(app, company, feed)
    with app.store.unit_of_work() as uow:
        (held,) = uow.push_records.claim(ledger=company.ledger.kind)
        uow.commit()
    pull_again(app, company, feed, "cancelled", updated_at="2026-11-20T08:00:00-06:00", status="cancelled")

    counts = prepare_batch(app, run_id="run-2")

    assert counts.drafts_superseded == 0
    with app.store.read() as uow:
        assert uow.push_records.get(held.idempotency_key).status is PushStatus.pushing
