"""Prepare on fakes: every decision logged, a clean job queued as one ready draft, a blocking rule as a case."""

from __future__ import annotations

from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.service import CaseQueue
from services.intake import pull_source
from services.prepare import prepare_batch
from tests.fakes import csv_job
from workorders.anomalies import Anomaly
from workorders.push import PushStatus


def test_a_clean_job_becomes_one_ready_draft_with_its_decisions_logged(app, company, feed):
    feed([csv_job("J1", "1001")])
    pull_source(app, company, company.sources[0])

    counts = prepare_batch(app, run_id="run-1")

    assert (counts.evaluated, counts.ready, counts.drafts, counts.blocked) == (1, 1, 1, 0)
    with app.store.read() as uow:
        [record] = uow.push_records.all()
        assert record.status is PushStatus.ready and record.doc_number == "AC-1001"
        assert record.amount == record.draft.total == 89
        assert uow.decisions.for_work_order("csv:J1", 1)
        assert uow.work_orders.pending_evaluation() == []


def test_a_job_without_a_sign_off_is_blocked_into_a_case_and_gets_no_draft(app, company, feed):
    feed([csv_job("J1", "1001", signed_by="", signed_at="")])
    pull_source(app, company, company.sources[0])

    counts = prepare_batch(app, run_id="run-1")

    assert (counts.blocked, counts.drafts) == (1, 0)
    assert counts.cases_opened[CaseKind.rule_blocked.value] == 1
    with app.store.read() as uow:
        assert uow.push_records.all() == []
        [case] = uow.cases.list(work_order_id="csv:J1")
        assert case.kind is CaseKind.rule_blocked and case.work_order_version == 1


def test_a_part_the_tables_do_not_map_opens_a_missing_mapping_case_instead_of_a_draft(app, company, feed):
    feed([csv_job("J1", "1001", line_kind="part", item_code="PUMP-9", description="Pump", unit_price="240.00",
                  unit_cost="120.00")])
    pull_source(app, company, company.sources[0])

    counts = prepare_batch(app, run_id="run-1")

    assert counts.ready == 1 and counts.drafts == 0
    assert counts.cases_opened[CaseKind.missing_mapping.value] == 1


def test_a_new_version_that_no_longer_trips_the_rule_clears_the_older_case(app, company, feed):
    feed([csv_job("J1", "1001", signed_by="", signed_at="")])
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    feed([csv_job("J1", "1001")], name="later")
    pull_source(app, company, company.sources[0])

    counts = prepare_batch(app, run_id="run-2")

    assert counts.cases_resolved == 1 and counts.drafts == 1
    with app.store.read() as uow:
        [case] = uow.cases.list(work_order_id="csv:J1")
        assert case.status is CaseStatus.resolved


def test_a_batch_already_evaluated_is_not_evaluated_again(app, company, feed):
    feed([csv_job("J1", "1001"), csv_job("J2", "1002", unit_price="120.00")])
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")

    again = prepare_batch(app, run_id="run-2")

    assert again.evaluated == 0
    with app.store.read() as uow:
        assert len(uow.push_records.all()) == 2


def test_the_same_job_twice_under_two_numbers_is_held_as_a_possible_duplicate(app, company, feed):
    feed([csv_job("J1", "1001"), csv_job("J2", "1002")])
    pull_source(app, company, company.sources[0])

    counts = prepare_batch(app, run_id="run-1")

    assert counts.drafts == 1 and counts.blocked == 1
    with app.store.read() as uow:
        assert [r.work_order_id for r in uow.push_records.all()] == ["csv:J1"]


def test_a_batch_opens_its_new_cases_once_each_in_the_order_met_and_an_open_case_absorbs_its_problem(
        app, company, feed):
    feed([csv_job("J1", "1001", signed_by="", signed_at=""), csv_job("J2", "1002", signed_by="", signed_at=""),
          csv_job("J3", "1003", line_kind="part", item_code="PUMP-9", description="Pump", unit_price="240.00",
                  unit_cost="120.00")])
    pull_source(app, company, company.sources[0])
    with app.store.unit_of_work() as uow:  # J1's problem is already in the queue (a preview met it, say)
        standing, _ = CaseQueue(uow.cases).open_case(Anomaly(
            code=CaseKind.rule_blocked, subject="csv:J1@v1", company=company.id, summary="no sign-off",
            work_order_id="csv:J1", work_order_version=1))
        uow.commit()

    counts = prepare_batch(app, run_id="run-1")

    assert counts.evaluated == 3 and counts.blocked == 2
    assert dict(counts.cases_opened) == {CaseKind.rule_blocked.value: 1, CaseKind.missing_mapping.value: 1}
    with app.store.read() as uow:
        cases = sorted(uow.cases.list(), key=lambda case: case.id)
        assert [(case.id, case.work_order_id, case.kind) for case in cases] == [
            (standing.id, "csv:J1", CaseKind.rule_blocked), (standing.id + 1, "csv:J2", CaseKind.rule_blocked),
            (standing.id + 2, "csv:J3", CaseKind.missing_mapping)]
        assert uow.cases.get(standing.id).summary == "no sign-off"
        assert [entry.action for entry in uow.cases.get(cases[1].id).history] == ["opened"]
