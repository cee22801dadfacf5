"""A job deleted in Jobber (its JOB_DESTROY webhook) becomes a deleted version: no invoice before billing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from closeout.webhooks import build_webhook_app
from connectors.jobber import webhook_signature
from services.intake import pull_job
from services.prepare import prepare_batch
from source_fakes import JobberServer, jobber_node
from workorders.anomalies import AnomalyCode
from workorders.decisions import Outcome
from workorders.work_order import WorkOrderStatus

SECRET = "jobber-app-client-secret"


@pytest.fixture
def jobber(app, jobber_router, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_SECRET_ACME", SECRET)
    server = JobberServer([jobber_node(3, "2025-06-09T12:00:00Z")])
    jobber_router.post("/api/graphql").mock(side_effect=server.page)
    # pulled here, never handed to a Prefect deployment: the session's Prefect harness may hold the pull-job
    # deployment another test created, and a run of it would never pull into this test's store
    direct = lambda company, source, job_id: pull_job(app, company, source, job_id)  # noqa: E731
    with TestClient(build_webhook_app(app, pull=direct)) as client:
        yield client, server


def deliver(client: TestClient, item: str, topic: str) -> dict:
    event = {"topic": topic, "appId": "app-1", "accountId": "acc-1", "itemId": item,
             "occurredAt": datetime.now(UTC).isoformat()}
    body = json.dumps({"data": {"webHookEvent": event}}).encode()
    answer = client.post("/webhooks/acme/jobber", content=body, headers={"X-Jobber-Hmac-SHA256": webhook_signature(SECRET, body)})
    assert answer.status_code == 202, answer.text
    return answer.json()


def pulled_then_destroyed(client: TestClient, server: JobberServer) -> str:
    """The job is pulled on an update, then deleted in Jobber: its id."""
    item = server.nodes[0]["id"]
    deliver(client, item, "JOB_UPDATE")
    server.nodes.clear()
    assert deliver(client, item, "JOB_DESTROY")["topic"] == "JOB_DESTROY"
    return item


def test_a_job_destroyed_in_jobber_gets_a_deleted_version_with_a_note_saying_so(jobber, app):
    item = pulled_then_destroyed(*jobber)

    with app.store.unit_of_work() as uow:
        versions = uow.work_orders.versions(f"jobber:{item}")
    assert [v.status for v in versions][-1] is WorkOrderStatus.deleted and len(versions) == 2
    assert versions[-1].notes[-1].text.startswith(f"Deleted in Jobber: a webhook named job {item} and ")
    assert versions[-1].line_items == versions[0].line_items


def test_a_destroyed_job_never_invoiced_is_logged_as_no_invoice_and_opens_no_case(jobber, app):
    item = pulled_then_destroyed(*jobber)

    prepare_batch(app, run_id="deletions")

    with app.store.unit_of_work() as uow:
        latest = uow.work_orders.get(f"jobber:{item}")
        decisions = uow.decisions.for_work_order(latest.id, latest.version)
        cases = [c for c in uow.cases.list() if c.work_order_id == latest.id]
    assert [(d.rule_id, d.outcome) for d in decisions if d.outcome is Outcome.no_invoice] == [
        ("cancelled_no_invoice", Outcome.no_invoice)]
    assert [c.kind for c in cases if c.kind is AnomalyCode.changed_after_invoiced] == []
    assert not any(c.is_open for c in cases)


def test_the_same_deletion_delivered_twice_and_a_job_never_pulled_change_nothing(jobber, app):
    client, _ = jobber
    item = pulled_then_destroyed(*jobber)
    deliver(client, item, "JOB_DESTROY")  # another delivery of it: Jobber's are at-least-once
    deliver(client, "Z2lkOi8vSm9iYmVyL0pvYi85OTk=", "JOB_DESTROY")

    with app.store.unit_of_work() as uow:
        assert len(uow.work_orders.versions(f"jobber:{item}")) == 2
        assert uow.work_orders.get("jobber:Z2lkOi8vSm9iYmVyL0pvYi85OTk=") is None
