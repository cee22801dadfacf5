"""A job deleted in ServiceTitan (a row of its jobs export feed) becomes a deleted version, as a JOB_DESTROY does.

Through the real connector, its own httpx.Client on respx, against the fake ServiceTitan of ``source_fakes``:
before invoicing the deletion ends as a logged no-invoice decision; after invoicing it opens the
``changed_after_invoiced`` case whose plan voids the unpaid invoice.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from connectors.errors import FatalError
from exceptions_queue.cases import CaseKind
from mappings.company_tables import MappingTables
from mappings.servicetitan import map_servicetitan_job
from services.config import CloseoutConfig, LedgerConfig
from services.intake import cursor_name, pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from services.reconcile import reconcile
from source_fakes import COMPANY, ST_API, ST_AUTH, ST_SOURCE, ServiceTitanServer, load_fixture, st_job
from tests.fakes import FakeLedger
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.decisions import Outcome
from workorders.deletions import SourceDeletion
from workorders.push import PushStatus
from workorders.rules import RuleSettings
from workorders.work_order import WorkOrderStatus

JOB, OTHER = 88120001, 88120002
ORDER = f"servicetitan:{JOB}"
DELETED_AT = "2025-06-05T10:00:00Z"


@pytest.fixture
def company(app):
    """The source tests' company with what a push needs: tables for the fixture's lines, no sign-off rule."""
    billed = COMPANY.model_copy(update={
        "rules": RuleSettings(require_sign_off=False), "ledger": LedgerConfig(realm_id="1", create_customers=True),
        "mappings": MappingTables(default_items={"labour": "1", "material": "2"},
                                  tax_codes={"taxable": "TAX", "exempt": "NON"}, doc_number_prefix="ST-")})
    app.config = CloseoutConfig(companies=(billed,))
    return billed


@pytest.fixture
def ledger(app) -> FakeLedger:
    fake = FakeLedger()
    app.ledger_for = lambda company: fake
    return fake


def serve(st_router, server: ServiceTitanServer) -> ServiceTitanServer:
    st_router.post(f"{ST_AUTH}/connect/token").mock(side_effect=server.token)
    st_router.get(url__startswith=ST_API).mock(side_effect=server.answer)
    return server


@pytest.fixture
def server(st_router) -> ServiceTitanServer:
    return serve(st_router, ServiceTitanServer([st_job(1, "2025-06-03T19:44:12Z"), st_job(2, "2025-06-03T20:00:00Z")]))


def versions(app, order_id: str = ORDER):
    with app.store.unit_of_work() as uow:
        return uow.work_orders.versions(order_id)


def landed(app) -> dict[str, dict]:
    """The current raw payload of each ServiceTitan job, by job id."""
    with app.store.unit_of_work() as uow:
        return {external_id: payload for _, external_id, _, payload in uow.raw.replay(source="servicetitan")}


def invoiced_and_unpaid(app, company, ledger) -> None:
    """Pull, prepare and push the job; the ledger then reports its invoice unpaid and reconcile reads that."""
    pull_source(app, company, ST_SOURCE)
    prepare_batch(app, run_id="run-1")
    push_batch(app, company)
    with app.store.unit_of_work() as uow:
        assert [r.doc_number for r in uow.push_records.all(status=PushStatus.pushed) if r.work_order_id == ORDER] == [
            "ST-88120001"]
    for ledger_id, invoice in list(ledger.invoices.items()):
        ledger.invoices[ledger_id] = replace(invoice, balance=invoice.total)
    assert {p.state.value for p in reconcile(app).payments} == {"unpaid"}


def test_a_job_deleted_in_servicetitan_gets_a_deleted_version_noting_that_the_export_feed_said_so(
        app, company, server):
    pull_source(app, company, ST_SOURCE)
    server.delete(JOB, DELETED_AT)

    counts = pull_source(app, company, ST_SOURCE)

    first, deleted = versions(app)
    assert counts.changed == 1 and deleted.status is WorkOrderStatus.deleted
    assert deleted.notes[-1].text == ("Deleted in ServiceTitan: its jobs export feed lists job 88120001 as inactive "
                                      "(active: false)")
    assert deleted.updated_at == datetime(2025, 6, 5, 10, tzinfo=UTC) and deleted.line_items == first.line_items
    assert landed(app)[str(JOB)]["exportRow"]["active"] is False  # the row as ServiceTitan sent it is kept
    assert [v.status for v in versions(app, f"servicetitan:{OTHER}")] == [WorkOrderStatus.completed]


def test_a_job_deleted_in_servicetitan_before_it_was_invoiced_ends_as_a_logged_no_invoice_decision_and_no_case(
        app, company, server):
    pull_source(app, company, ST_SOURCE)
    server.delete(JOB, DELETED_AT)
    pull_source(app, company, ST_SOURCE)

    prepare_batch(app, run_id="deletions")

    with app.store.unit_of_work() as uow:
        latest = uow.work_orders.get(ORDER)
        decisions = uow.decisions.for_work_order(ORDER, latest.version)
        cases = uow.cases.list(work_order_id=ORDER)
        drafted = [r.work_order_id for r in uow.push_records.all()]
    assert latest.status is WorkOrderStatus.deleted
    assert [(d.rule_id, d.outcome) for d in decisions if d.outcome is Outcome.no_invoice] == [
        ("cancelled_no_invoice", Outcome.no_invoice)]
    assert cases == [] and ORDER not in drafted


def test_a_job_deleted_in_servicetitan_after_it_was_invoiced_opens_a_case_whose_plan_voids_the_unpaid_invoice(
        app, company, server, ledger):
    invoiced_and_unpaid(app, company, ledger)
    sent = dict(ledger.invoices)
    server.delete(JOB, DELETED_AT)
    pull_source(app, company, ST_SOURCE)

    counts = prepare_batch(app, run_id="run-2")

    assert counts.cases_opened[CaseKind.changed_after_invoiced.value] == 1 and counts.drafts == 0
    with app.store.unit_of_work() as uow:
        (case,) = uow.cases.list(work_order_id=ORDER, kinds=[CaseKind.changed_after_invoiced])
    evidence = case.evidence["decisions"][0]["evidence"]
    assert case.is_open and case.work_order_version == 2
    assert (evidence["new_status"], evidence["payment_state"]) == ("deleted", "unpaid")
    assert evidence["plan"]["path"] == "void"
    assert evidence["plan"]["text"] == ["void invoice ST-88120001 (289.00 before tax)"]
    assert ledger.invoices == sent  # nothing was sent by itself: the plan waits for a person


def test_a_job_deleted_in_servicetitan_that_closeout_never_saw_is_landed_and_logged_and_makes_no_work_order(
        app, company, server, caplog):
    server.jobs.append(st_job(7, "2025-06-02T08:00:00Z"))
    server.delete(88120007, "2025-06-02T09:00:00Z")  # created and deleted between two runs
    caplog.set_level(logging.INFO, logger="closeout.intake")

    counts = pull_source(app, company, ST_SOURCE)

    assert versions(app, "servicetitan:88120007") == [] and counts.changed == 2
    assert landed(app)["88120007"]["exportRow"]["id"] == 88120007
    (said,) = [r.getMessage() for r in caplog.records if "88120007" in r.getMessage()]
    assert said.startswith("ServiceTitan says job 88120007 is deleted (its jobs export feed lists job 88120007 as "
                           "inactive (active: false)); Closeout never held a version of it")


def test_an_export_row_without_an_active_flag_deletes_only_a_job_that_servicetitan_no_longer_returns(
        app, company, st_router):
    server = serve(st_router, ServiceTitanServer([st_job(1, "2025-06-03T19:44:12Z"), st_job(2, "2025-06-03T20:00:00Z")],
                                                 export_flags=False))
    pull_source(app, company, ST_SOURCE)
    assert [v.status for v in versions(app)] == [WorkOrderStatus.completed]  # looked up, found, left alone
    server.delete(JOB, DELETED_AT, flag=None)

    pull_source(app, company, ST_SOURCE)

    assert versions(app)[-1].notes[-1].text == (
        "Deleted in ServiceTitan: its jobs export feed lists job 88120001 without an active flag and "
        "GET jobs/88120001 answers 404")
    assert len(versions(app, f"servicetitan:{OTHER}")) == 1 and server.jobs_read.count(str(JOB)) == 2


def test_an_export_row_dated_before_the_version_held_does_not_delete_a_job_that_came_back(app, company, server):
    pull_source(app, company, ST_SOURCE)
    server.delete(JOB, DELETED_AT)
    server.jobs.append(st_job(1, "2025-06-05T11:00:00Z"))  # back, while the feed still repeats its old row

    pull_source(app, company, ST_SOURCE)

    assert [v.status for v in versions(app)] == [WorkOrderStatus.completed, WorkOrderStatus.completed]


def test_the_same_deletion_read_again_from_the_export_feed_changes_nothing(app, company, server):
    pull_source(app, company, ST_SOURCE)
    server.delete(JOB, DELETED_AT)
    pull_source(app, company, ST_SOURCE)
    name = cursor_name(company, ST_SOURCE)
    with app.store.unit_of_work() as uow:  # forget the token: the feed is read again from the watermark's date
        uow.cursors.set(name, json.dumps({**json.loads(uow.cursors.get(name)), "export": None}))
        uow.commit()

    counts = pull_source(app, company, ST_SOURCE)

    assert server.exports_served[-1] == "2025-06-03T20:00:00Z"
    assert counts.changed == 0 and len(versions(app)) == 2


def test_the_export_feed_is_read_from_the_watermark_the_first_time_then_from_its_continue_from_token(make_st, server):
    source = make_st()
    pages = list(source.fetch_pages(cursor=json.dumps({"watermark": "2025-06-03T20:00:00Z"})))
    token = json.loads(pages[-1].next_cursor)["export"]
    list(source.fetch_pages(cursor=pages[-1].next_cursor))

    assert server.exports_served == ["2025-06-03T20:00:00Z", token] and token == "after|2025-06-03T20:00:00Z|88120002"


def test_an_export_answer_without_a_continue_from_token_stops_the_run_rather_than_reread_the_feed(
        make_st, server, st_router):
    def no_token(request: httpx.Request) -> httpx.Response:
        answer = server.answer(request)
        if request.url.path.endswith("/export/jobs"):
            return httpx.Response(200, json={**answer.json(), "continueFrom": None})
        return answer

    st_router.get(url__startswith=ST_API).mock(side_effect=no_token)
    with pytest.raises(FatalError) as caught:
        list(make_st().fetch_pages(cursor=None))
    assert caught.value.code == "no_continue_from"


def _map(payload: dict):
    return map_servicetitan_job(payload, company="acme", default_timezone="America/Edmonton", currency="CAD")


def test_an_export_row_that_does_not_say_the_job_was_deleted_is_a_case_not_a_guessed_deletion():
    row = {**load_fixture("servicetitan_job.json")["job"], "active": True}

    result = _map({"exportRow": row})

    assert isinstance(result, Anomaly) and result.code is AnomalyCode.source_payload_invalid
    assert "nothing is deleted on a guess" in result.summary


def test_a_listed_job_that_says_it_is_inactive_maps_to_a_deletion_not_to_a_billable_work_order():
    payload = copy.deepcopy(load_fixture("servicetitan_job.json"))
    payload["job"]["active"] = False

    result = _map(payload)

    assert result == SourceDeletion(source="servicetitan", external_id="88120011", system="ServiceTitan",
                                    evidence="the jobs list answered job 88120011 with active: false",
                                    at=datetime(2025, 6, 3, 19, 44, 12, tzinfo=UTC))


def test_a_deletion_dated_with_the_versions_own_time_still_applies_and_one_dated_before_it_does_not():
    order = map_servicetitan_job(load_fixture("servicetitan_job.json"), company="acme", default_timezone="UTC")
    said = SourceDeletion(source=order.source, external_id=order.external_id, system="ServiceTitan", evidence="x")

    assert replace(said, at=order.updated_at).applied_to(order, now=order.updated_at).status is WorkOrderStatus.deleted
    assert replace(said, at=order.updated_at.replace(year=2000)).applied_to(order, now=order.updated_at) is None


def test_deleting_a_job_whose_payload_never_mapped_resolves_its_invalid_payload_case(app, company, st_router):
    server = serve(st_router, ServiceTitanServer([st_job(1, "2025-06-03T19:44:12Z", jobStatus="Unheard-of")]))
    pull_source(app, company, ST_SOURCE)
    server.delete(JOB, DELETED_AT)

    counts = pull_source(app, company, ST_SOURCE)

    with app.store.unit_of_work() as uow:
        (listed,) = uow.cases.list(work_order_id=ORDER)
        case = uow.cases.get(listed.id)
    assert counts.cases_resolved == 1 and not case.is_open and versions(app) == []
    assert case.history[-1].note == "the job was deleted in ServiceTitan"
