"""The real FastAPI webhook app: a bad signature leaves no trace, a good one gets the job's work order stored."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from closeout.webhooks import build_webhook_app
from connectors.housecallpro import webhook_signature as housecallpro_signature
from connectors.jobber import webhook_signature as jobber_signature
from source_fakes import HousecallProServer, JobberServer, hcp_job, jobber_node

SECRET = "jobber-app-client-secret"


@pytest.fixture
def receiver(app, jobber_router, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_SECRET_ACME", SECRET)
    node = jobber_node(3, "2025-06-09T12:00:00Z")
    graphql = jobber_router.post("/api/graphql").mock(side_effect=JobberServer([node]).page)
    with TestClient(build_webhook_app(app)) as client:
        yield client, node, graphql


def _event(item: str, topic: str = "JOB_UPDATE") -> bytes:
    event = {"topic": topic, "appId": "app-1", "accountId": "acc-1", "itemId": item,
             "occurredAt": datetime.now(UTC).isoformat()}  # inside the receiver's replay window
    return json.dumps({"data": {"webHookEvent": event}}).encode()


def _stored(app) -> tuple[int, int]:
    with app.store.engine.connect() as connection:
        raw = connection.execute(sa.text("select count(*) from raw_payloads")).scalar_one()
        orders = connection.execute(sa.text("select count(*) from work_order_versions")).scalar_one()
    return raw, orders


def test_a_good_signature_is_accepted_and_the_named_job_becomes_a_stored_work_order(receiver, app):
    client, node, graphql = receiver
    body = _event(node["id"])
    answer = client.post("/webhooks/acme/jobber", content=body,
                         headers={"X-Jobber-Hmac-SHA256": jobber_signature(SECRET, body)})
    assert answer.status_code == 202 and answer.json()["job"] == node["id"]
    with app.store.unit_of_work() as uow:
        order = uow.work_orders.get(f"jobber:{node['id']}")
    assert order is not None and order.job_number == "1003"
    assert json.loads(graphql.calls[0].request.content)["variables"] == {"id": node["id"]}


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", jobber_signature("another-secret", b"x")])
def test_a_bad_or_missing_signature_is_refused_with_401_and_leaves_no_trace(receiver, app, signature):
    client, node, graphql = receiver
    headers = {"X-Jobber-Hmac-SHA256": signature} if signature else {}
    answer = client.post("/webhooks/acme/jobber", content=_event(node["id"]), headers=headers)
    assert answer.status_code == 401
    assert _stored(app) == (0, 0) and graphql.calls.call_count == 0


def test_a_body_changed_after_signing_is_refused(receiver, app):
    client, node, graphql = receiver
    signed = _event(node["id"])
    answer = client.post("/webhooks/acme/jobber", content=_event("another-job"),
                         headers={"X-Jobber-Hmac-SHA256": jobber_signature(SECRET, signed)})
    assert answer.status_code == 401 and _stored(app) == (0, 0)


def test_a_topic_that_names_no_job_is_acknowledged_without_a_pull(receiver, app):
    client, node, graphql = receiver
    body = _event("visit-1", topic="VISIT_COMPLETE")
    answer = client.post("/webhooks/acme/jobber", content=body,
                         headers={"X-Jobber-Hmac-SHA256": jobber_signature(SECRET, body)})
    assert answer.status_code == 200 and answer.json()["accepted"] is False and graphql.calls.call_count == 0


def test_an_unknown_company_or_source_is_not_found(receiver):
    client, node, _ = receiver
    assert client.post("/webhooks/nobody/jobber", content=_event(node["id"])).status_code == 404
    assert client.post("/webhooks/acme/nothing", content=_event(node["id"])).status_code == 404


HCP_SECRET = "hcp-webhook-secret"


@pytest.fixture
def hcp_receiver(app, hcp_router, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_HOUSECALLPRO_WEBHOOK_SECRET_ACME", HCP_SECRET)
    job = hcp_job(8, "2025-06-09T12:00:00Z")
    routes = hcp_router.route().mock(side_effect=HousecallProServer([job]).answer)
    with TestClient(build_webhook_app(app)) as client:
        yield client, job, routes


def _hcp_event(job) -> bytes:
    return json.dumps({"event": "job.completed", "event_occurred_at": "2025-06-09T12:00:01Z",
                       "company_id": "7141dca7-882d-427b-a9c0-0ba0d74c85cf", "job": job}).encode()


def test_a_housecall_pro_event_with_a_good_signature_stores_the_jobs_work_order(hcp_receiver, app):
    client, job, routes = hcp_receiver
    body, stamp = _hcp_event(job), str(int(time.time()))
    answer = client.post("/webhooks/acme/housecallpro", content=body, headers={
        "Api-Timestamp": stamp, "Api-Signature": housecallpro_signature(HCP_SECRET, stamp, body)})
    assert answer.status_code == 202
    with app.store.unit_of_work() as uow:
        order = uow.work_orders.get("housecallpro:job_0008")
    assert order is not None and len(order.line_items) == 2


def test_a_housecall_pro_event_signed_for_another_timestamp_is_refused_and_leaves_no_trace(hcp_receiver, app):
    client, job, routes = hcp_receiver
    body = _hcp_event(job)
    answer = client.post("/webhooks/acme/housecallpro", content=body, headers={
        "Api-Timestamp": "1749470999", "Api-Signature": housecallpro_signature(HCP_SECRET, "1749470401", body)})
    assert answer.status_code == 401 and _stored(app) == (0, 0) and routes.call_count == 0


@pytest.mark.e2e
def test_with_a_prefect_api_a_good_webhook_starts_a_run_of_the_pull_job_deployment(prefect_api, app, monkeypatch,
                                                                                   jobber_router):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter
    from prefect.settings import PREFECT_API_URL

    from closeout.orchestration.deployments import PULL_JOB_DEPLOYMENT_NAME as DEPLOYMENT_NAME
    from flows.pull_job import closeout_pull_job

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_SECRET_ACME", SECRET)
    graphql = jobber_router.post("/api/graphql").respond(500)
    deployment_id = closeout_pull_job.to_deployment(name=DEPLOYMENT_NAME).apply()
    body = _event("Z2lkOi8vSm9iYmVyL0pvYi85")
    with TestClient(build_webhook_app(app, config_path="/etc/closeout.toml")) as client:
        answer = client.post("/webhooks/acme/jobber", content=body,
                             headers={"X-Jobber-Hmac-SHA256": jobber_signature(SECRET, body)})
    assert answer.status_code == 202 and graphql.call_count == 0  # pulled by the deployment run, not here
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id={"any_": [deployment_id]}))
    assert [run.parameters for run in runs] == [{"company_id": "acme", "source_name": "jobber",
                                                 "job_id": "Z2lkOi8vSm9iYmVyL0pvYi85",
                                                 "config_path": "/etc/closeout.toml"}]
