"""Each source through intake on a real store: a crash between fetch and commit loses and duplicates nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from services.replay import replay_source
from services.intake import cursor_name, pull_job, pull_source
from source_fakes import (
    COMPANY, HCP_SOURCE, SOURCE, ST_API, ST_AUTH, ST_SOURCE, HousecallProServer, JobberServer, ServiceTitanServer, hcp_job,
    jobber_node, st_job,
)
from exceptions_queue.cases import CaseStatus
from workorders.anomalies import AnomalyCode


def _counts(app):
    with app.store.engine.connect() as connection:
        orders = connection.execute(sa.text("select work_order_id, count(*) from work_order_versions group by work_order_id")).all()
        raw = connection.execute(sa.text("select count(*) from raw_payloads")).scalar_one()
    return {row[0]: row[1] for row in orders}, raw, app.store.cursors.get(cursor_name(COMPANY, SOURCE))


def test_a_crash_between_a_page_fetch_and_its_commit_loses_nothing_and_duplicates_nothing(app, jobber_router):
    server = JobberServer([jobber_node(n, f"2025-06-0{9 - n}T12:00:00Z") for n in range(5)])
    jobber_router.post("/api/graphql").mock(side_effect=server.page)
    real_map, calls = app.map_payload, {"n": 0}

    def crash_on_the_fourth_job(kind, payload, company):
        calls["n"] += 1
        if calls["n"] == 4:  # page 2, after its first job was landed and mapped, before the page commits
            raise KeyboardInterrupt("killed")
        return real_map(kind, payload, company)

    app.map_payload = crash_on_the_fourth_job
    with pytest.raises(KeyboardInterrupt):
        pull_source(app, COMPANY, SOURCE)
    orders, raw, cursor = _counts(app)
    assert len(orders) == 2 and raw == 2 and json.loads(cursor)["after"] == "Mg=="

    app.map_payload = real_map
    counts = pull_source(app, COMPANY, SOURCE)
    orders, raw, cursor = _counts(app)
    assert counts.pulled == 3 and len(orders) == 5 and set(orders.values()) == {1} and raw == 5
    assert json.loads(cursor) == {"watermark": "2025-06-09T12:00:00Z", "high": None, "after": None}
    assert server.pages_served == [None, "Mg==", "Mg==", "NA=="]


def test_a_second_run_lands_only_what_changed_and_versions_only_the_changed_job(app, jobber_router):
    nodes = [jobber_node(n, f"2025-06-0{9 - n}T12:00:00Z") for n in range(3)]
    server = JobberServer(nodes)
    jobber_router.post("/api/graphql").mock(side_effect=server.page)
    pull_source(app, COMPANY, SOURCE)
    changed = jobber_node(2, "2025-06-10T09:00:00Z", title="Replace water heater (re-visit)")
    server.nodes = [changed, nodes[0], nodes[1]]
    counts = pull_source(app, COMPANY, SOURCE)
    assert counts.new_payloads == 1 and counts.changed == 1
    with app.store.unit_of_work() as uow:
        assert [o.scope for o in uow.work_orders.versions(f"jobber:{changed['id']}")] == [
            "Replace water heater", "Replace water heater (re-visit)"]


def test_an_unmappable_job_opens_a_case_the_run_goes_on_and_replay_clears_it_after_a_fix(app, jobber_router):
    bad = jobber_node(1, "2025-06-09T12:00:00Z", jobStatus="teleported")
    server = JobberServer([bad, jobber_node(2, "2025-06-08T12:00:00Z")])
    jobber_router.post("/api/graphql").mock(side_effect=server.page)
    counts = pull_source(app, COMPANY, SOURCE)
    assert counts.cases_opened[AnomalyCode.source_payload_invalid.value] == 1 and counts.changed == 1

    from mappings import jobber as jobber_mapping
    jobber_mapping.STATUSES["teleported"] = jobber_mapping.WorkOrderStatus.in_progress  # "the mapping fix"
    try:
        jobber_router.post("/api/graphql").mock(side_effect=AssertionError("replay must not call Jobber"))
        replayed = replay_source(app, "jobber")
    finally:
        del jobber_mapping.STATUSES["teleported"]
    assert replayed.pulled == 2 and replayed.changed == 1 and replayed.cases_resolved == 1
    with app.store.unit_of_work() as uow:
        case = uow.cases.list(statuses=(CaseStatus.resolved,))[0]
    assert case.subject == f"jobber:{bad['id']}"


def test_pulling_one_job_by_id_stores_its_work_order_without_moving_the_cursor(app, jobber_router):
    node = jobber_node(5, "2025-06-09T12:00:00Z")
    jobber_router.post("/api/graphql").mock(side_effect=JobberServer([node]).page)
    counts = pull_job(app, COMPANY, SOURCE, node["id"])
    orders, raw, cursor = _counts(app)
    assert counts.changed == 1 and orders == {f"jobber:{node['id']}": 1} and cursor is None


def test_a_housecall_pro_crash_mid_page_is_recovered_by_the_next_run_without_duplicates(app, hcp_router):
    server = HousecallProServer([hcp_job(n, f"2025-06-0{9 - n}T12:00:00Z") for n in range(5)])
    hcp_router.route().mock(side_effect=server.answer)
    real_map, calls = app.map_payload, {"n": 0}

    def crash_on_the_third_job(kind, payload, company):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real_map(kind, payload, company)

    app.map_payload = crash_on_the_third_job
    with pytest.raises(KeyboardInterrupt):
        pull_source(app, COMPANY, HCP_SOURCE)
    app.map_payload = real_map
    pull_source(app, COMPANY, HCP_SOURCE)
    with app.store.engine.connect() as connection:
        rows = connection.execute(sa.text(
            "select work_order_id, count(*) from work_order_versions group by work_order_id")).all()
    cursor = json.loads(app.store.cursors.get(cursor_name(COMPANY, HCP_SOURCE)))
    assert len(rows) == 5 and {count for _, count in rows} == {1}
    assert cursor == {"watermark": "2025-06-09T12:00:00Z", "high": None, "page": None}
    assert server.pages_served == [1, 2, 2, 3]


def test_a_servicetitan_crash_mid_page_is_recovered_by_the_next_run_without_duplicates(app, st_router):
    server = ServiceTitanServer([st_job(n, f"2025-06-0{n + 1}T12:00:00Z") for n in range(5)])
    st_router.post(url__startswith=ST_AUTH).mock(side_effect=server.token)
    st_router.get(url__startswith=ST_API).mock(side_effect=server.answer)
    real_map, calls = app.map_payload, {"n": 0}

    def crash_on_the_fourth_job(kind, payload, company):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")
        return real_map(kind, payload, company)

    app.map_payload = crash_on_the_fourth_job
    with pytest.raises(KeyboardInterrupt):
        pull_source(app, COMPANY, ST_SOURCE)
    app.map_payload = real_map
    pull_source(app, COMPANY, ST_SOURCE)
    with app.store.engine.connect() as connection:
        rows = connection.execute(sa.text(
            "select work_order_id, count(*) from work_order_versions group by work_order_id")).all()
    cursor = json.loads(app.store.cursors.get(cursor_name(COMPANY, ST_SOURCE)))
    assert len(rows) == 5 and {count for _, count in rows} == {1}
    assert cursor == {"watermark": "2025-06-05T12:00:00Z", "high": None, "page": None,
                      "export": "after|2025-06-05T12:00:00Z|88120004"}
    assert [page for page, _ in server.pages_served] == [1, 2, 2, 3]
