"""High-severity cases posted to the company's chat webhook: respx is the transport of our own httpx.Client."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from closeout.notifiers import open_notifiers
from services.notify import BACKOFF, NOTIFICATION_FAILED, record_high_severity, send_due
from tests.notifications.conftest import notifying_config, open_case
from workorders.anomalies import AnomalyCode

HOOK = "https://hooks.chat.test/services/T0001/B0001/s3cr3t-path"


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(assert_all_called=False)


@pytest.fixture
def config(smtp, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_NOTIFY_WEBHOOK_ACME", HOOK)
    return notifying_config(smtp.port, webhook=True, on_call="")


def _send(store, config, router):
    client = httpx.Client(transport=httpx.MockTransport(router.handler))
    with open_notifiers(config, client=client) as notifier_for:
        return send_due(store, notifier_for)


def test_a_new_high_severity_case_is_posted_to_the_webhook_once_as_text(store, config, router, smtp):
    route = router.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
    case = open_case(store, AnomalyCode.uncertain_push, summary="QBO did not answer for AC-1042")

    record_high_severity(store, config)
    _send(store, config, router)
    record_high_severity(store, config)
    _send(store, config, router)

    assert route.call_count == 1
    body = json.loads(route.calls.last.request.content)
    assert list(body) == ["text"]
    assert f"High-severity case #{case.id} in acme: uncertain_push" in body["text"]
    assert "QBO did not answer for AC-1042" in body["text"]
    assert smtp.received == []  # no on_call address: no e-mail


def test_a_webhook_that_answers_503_is_retried_later(store, config, router, clock):
    route = router.post(HOOK).mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    open_case(store, AnomalyCode.connection_failed, summary="Jobber is down")
    record_high_severity(store, config)

    first = _send(store, config, router)
    clock.advance(seconds=BACKOFF[0].total_seconds() + 1)
    second = _send(store, config, router)

    assert [error for _, error in first.retrying] == ["https://hooks.chat.test answered HTTP 503"]
    assert len(second.sent) == 1 and route.call_count == 2


def test_a_webhook_that_refuses_for_good_is_shown_on_the_case_without_its_secret_url(store, config, router):
    router.post(HOOK).mock(return_value=httpx.Response(404))
    case = open_case(store, AnomalyCode.reconciliation_mismatch, summary="totals differ")
    record_high_severity(store, config)

    report = _send(store, config, router)

    assert len(report.failed) == 1
    with store.unit_of_work() as uow:
        [failure] = [e for e in uow.cases.get(case.id).history if e.action == NOTIFICATION_FAILED]
        [record] = uow.notifications.for_case(case.id)
    assert "answered HTTP 404" in failure.note
    assert "s3cr3t" not in failure.note and "s3cr3t" not in record.last_error

