"""Intake on fakes: every page landed and committed with its cursor, a job that does not map becomes a case."""

from __future__ import annotations

import pytest

from connectors.errors import RetriableError
from exceptions_queue.cases import CaseKind
from services.intake import cursor_name, pull_source
from connectors.source_paging import SourceJob
from tests.fakes import csv_job


def broken_job(job_id: str) -> SourceJob:
    return SourceJob(source="csv", stream="jobs", external_id=job_id, locator=f"jobs.csv#{job_id}",
                   payload={"file": "jobs.csv", "rows": "not rows"})


def test_every_page_is_landed_and_the_cursor_ends_after_the_last_page(app, company, feed):
    feed([csv_job("J1", "1001"), csv_job("J2", "1002")], [csv_job("J3", "1003")])

    counts = pull_source(app, company, company.sources[0])

    assert (counts.pulled, counts.new_payloads, counts.changed) == (3, 3, 3)
    with app.store.read() as uow:
        assert sorted(uow.raw.job_ids()) == ["csv:J1", "csv:J2", "csv:J3"]
        assert uow.work_orders.get("csv:J3").job_number == "1003"
        assert uow.cursors.get(cursor_name(company, company.sources[0])) == "page-2"


def test_an_unmappable_job_opens_a_case_and_the_rest_of_the_page_is_still_taken(app, company, feed):
    feed([csv_job("J1", "1001"), broken_job("J2"), csv_job("J3", "1003")])

    counts = pull_source(app, company, company.sources[0])

    assert counts.cases_opened[CaseKind.source_payload_invalid.value] == 1
    with app.store.read() as uow:
        cases = uow.cases.list(kinds=(CaseKind.source_payload_invalid,))
        assert [case.company for case in cases] == ["acme"]
        assert uow.work_orders.get("csv:J1") is not None and uow.work_orders.get("csv:J3") is not None
        assert "csv:J2" in uow.raw.job_ids()  # landed as received, for a replay after the fix


def test_a_source_failing_mid_pull_keeps_the_pages_before_it_and_their_cursor(app, company, feed):
    source = feed([csv_job("J1", "1001")], [csv_job("J2", "1002")],
                  fail_at={1: RetriableError("timed out", system="csv")})

    with pytest.raises(RetriableError):
        pull_source(app, company, company.sources[0])

    stream = cursor_name(company, company.sources[0])
    with app.store.read() as uow:
        assert uow.cursors.get(stream) == "page-1"
        assert uow.work_orders.get("csv:J1") is not None and uow.work_orders.get("csv:J2") is None
    pull_source(app, company, company.sources[0])
    assert source.asked_from == [None, "page-1"]
    with app.store.read() as uow:
        assert uow.cursors.get(stream) == "page-2" and uow.work_orders.get("csv:J2") is not None


def test_the_same_payload_pulled_again_stores_no_new_version(app, company, feed):
    feed([csv_job("J1", "1001")])
    pull_source(app, company, company.sources[0])
    feed([csv_job("J1", "1001")], name="later")

    again = pull_source(app, company, company.sources[0])

    assert (again.pulled, again.new_payloads, again.changed) == (1, 0, 0)
    with app.store.read() as uow:
        assert [order.version for order in uow.work_orders.versions("csv:J1")] == [1]


def test_a_job_that_maps_again_clears_the_case_its_broken_payload_opened(app, company, feed):
    feed([SourceJob(source="csv", stream="jobs", external_id="J1", locator="jobs.csv#J1",
                  payload={"file": "jobs.csv", "rows": [{"row": 2, "values": {"job_id": "J1"}}]})])
    pull_source(app, company, company.sources[0])
    feed([csv_job("J1", "1001")], name="later")

    counts = pull_source(app, company, company.sources[0])

    assert counts.cases_resolved == 1
    with app.store.read() as uow:
        assert uow.cases.find_open(kind=CaseKind.source_payload_invalid, subject="csv:J1") is None
