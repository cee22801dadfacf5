"""Webhook replays: a signed delivery is good only inside a time window, and only once; signatures compare in
constant time."""

from __future__ import annotations

import ast
import inspect
import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from closeout.webhooks import MAX_WEBHOOK_BYTES, REPLAY_WINDOW, build_webhook_app
from connectors.housecallpro import webhook_signature as housecallpro_signature
from connectors.jobber import webhook_signature as jobber_signature
from connectors import housecallpro as housecallpro_connector
from connectors import jobber as jobber_connector

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def receiver(app, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_SECRET_ACME", "jobber-secret")
    monkeypatch.setenv("CLOSEOUT_HOUSECALLPRO_WEBHOOK_SECRET_ACME", "hcp-secret")
    pulled: list[str] = []
    clock = Clock()
    web = build_webhook_app(app, pull=lambda company, source, job: pulled.append(f"{source.name}:{job}"), clock=clock)
    with TestClient(web) as client:
        yield client, clock, pulled


def jobber(client, item: str, occurred: float):
    body = json.dumps({"data": {"webHookEvent": {
        "topic": "JOB_UPDATE", "appId": "a", "accountId": "b", "itemId": item,
        "occurredAt": datetime.fromtimestamp(occurred, UTC).isoformat()}}}).encode()
    return client.post("/webhooks/acme/jobber", content=body,
                       headers={"X-Jobber-Hmac-SHA256": jobber_signature("jobber-secret", body)})


def housecallpro(client, job_id: str, stamp: float):
    body = json.dumps({"event": "job.completed", "job": {"id": job_id}}).encode()
    timestamp = str(int(stamp))
    return client.post("/webhooks/acme/housecallpro", content=body, headers={
        "Api-Timestamp": timestamp, "Api-Signature": housecallpro_signature("hcp-secret", timestamp, body)})


@pytest.mark.parametrize("send", [jobber, housecallpro])
def test_a_delivery_replayed_to_a_restarted_or_second_receiver_is_still_not_pulled_twice(app, receiver, send):
    client, clock, pulled = receiver
    assert send(client, "job-7", NOW).status_code == 202
    other: list[str] = []
    restarted = build_webhook_app(app, pull=lambda company, source, job: other.append(job), clock=clock)

    with TestClient(restarted) as second:
        again = send(second, "job-7", NOW)
        fresh = send(second, "job-8", NOW)

    assert again.status_code == 200 and again.json()["reason"] == "already received"
    assert fresh.status_code == 202 and other == ["job-8"] and len(pulled) == 1



@pytest.mark.parametrize("send", [jobber, housecallpro])
def test_a_signed_delivery_older_or_newer_than_the_window_is_refused_without_a_pull(receiver, send):
    client, clock, pulled = receiver
    for moment in (NOW - REPLAY_WINDOW - 1, NOW + REPLAY_WINDOW + 1, NOW - 86400):
        answer = send(client, "job-1", moment)
        assert answer.status_code == 401 and "too old" in answer.json()["error"]
    assert pulled == []
    assert send(client, "job-1", NOW - REPLAY_WINDOW + 5).status_code == 202
    assert len(pulled) == 1


@pytest.mark.parametrize("send", [jobber, housecallpro])
def test_the_same_delivery_sent_again_inside_the_window_is_acknowledged_but_not_pulled_twice(receiver, send):
    client, clock, pulled = receiver
    assert send(client, "job-2", NOW).status_code == 202
    clock.now += 60
    again = send(client, "job-2", NOW)
    assert again.status_code == 200 and again.json() == {"accepted": False, "reason": "already received"}
    clock.now += REPLAY_WINDOW
    assert send(client, "job-2", NOW).status_code == 401, "past the window the copy is simply too old"
    assert send(client, "job-3", clock.now).status_code == 202
    assert len(pulled) == 2


def test_a_jobber_delivery_without_a_readable_time_is_refused(receiver):
    client, clock, pulled = receiver
    body = json.dumps({"data": {"webHookEvent": {"topic": "JOB_UPDATE", "itemId": "x"}}}).encode()
    answer = client.post("/webhooks/acme/jobber", content=body,
                         headers={"X-Jobber-Hmac-SHA256": jobber_signature("jobber-secret", body)})
    assert answer.status_code == 401 and pulled == []


@pytest.mark.parametrize("connector", [jobber_connector, housecallpro_connector], ids=["jobber", "housecallpro"])
def test_every_signature_check_compares_with_hmac_compare_digest_never_with_equals(connector):
    tree = ast.parse(inspect.getsource(connector))
    checks = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "webhook_is_valid"]
    assert len(checks) == 1
    for check in checks:
        calls = {ast.unparse(node.func) for node in ast.walk(check) if isinstance(node, ast.Call)}
        assert "hmac.compare_digest" in calls, check.name
        assert not [node for node in ast.walk(check) if isinstance(node, ast.Compare)
                    and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops)], check.name


def test_an_unsigned_webhook_over_its_limit_is_a_413_and_a_signed_one_nested_too_deep_is_refused_not_a_500(receiver):
    client, clock, pulled = receiver
    huge = client.post("/webhooks/acme/jobber", content=b"{" + b" " * MAX_WEBHOOK_BYTES + b"}")
    deep = b'{"data": {"webHookEvent": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    nested = client.post("/webhooks/acme/jobber", content=deep,
                         headers={"X-Jobber-Hmac-SHA256": jobber_signature("jobber-secret", deep)})
    assert huge.status_code == 413 and "over" in huge.json()["error"]
    assert nested.status_code == 401 and pulled == []


def test_a_captured_jobber_delivery_replayed_with_fifty_different_unsigned_timestamps_is_pulled_once(receiver):
    client, clock, pulled = receiver
    body = json.dumps({"data": {"webHookEvent": {
        "topic": "JOB_UPDATE", "appId": "a", "accountId": "b", "itemId": "job-9",
        "occurredAt": datetime.fromtimestamp(NOW, UTC).isoformat()}}}).encode()
    signature = jobber_signature("jobber-secret", body)
    answers = [client.post("/webhooks/acme/jobber", content=body,
                           headers={"X-Jobber-Hmac-SHA256": signature, "Api-Timestamp": str(int(NOW) + n)})
               for n in range(50)]
    assert [answer.status_code for answer in answers] == [202] + [200] * 49
    assert pulled == ["jobber:job-9"]
