"""Bodies from outside have limits: too big is 413 before it is read whole, malformed is 400, never a 500."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from exceptions_queue.web.bodies import MAX_FORM_BYTES, MAX_FORM_FIELDS, MAX_JSON_BYTES


def _api(site, role: str = "dana") -> TestClient:
    return TestClient(site.web, headers={"Authorization": f"Bearer {site.tokens[role]}"})


def _case(site) -> int:
    return next(iter(site.cases.values()))


@pytest.mark.parametrize("body", [b"{", b"[" * 100_000, b"\xff\xfe not json", b"[1, 2]", b'"assign"'],
                         ids=["cut off", "100k deep", "not text", "a list", "a string"])
def test_an_api_body_that_is_not_one_json_object_is_a_400_saying_what_to_send(site, body):
    answer = _api(site).post(f"/api/cases/{_case(site)}/decisions", content=body,
                             headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "JSON object" in answer.json()["error"]


def test_an_api_body_over_its_limit_is_a_413_whether_declared_or_not(site):
    big = json.dumps({"decision": "comment", "note": "x" * MAX_JSON_BYTES}).encode()
    declared = _api(site).post(f"/api/cases/{_case(site)}/decisions", content=big)
    streamed = _api(site).post(f"/api/cases/{_case(site)}/decisions", content=iter([big[:50_000], big[50_000:]]))
    assert declared.status_code == streamed.status_code == 413
    assert f"over {MAX_JSON_BYTES} bytes" in declared.json()["error"]


def test_an_anonymous_sign_in_over_the_form_limit_is_a_413_not_a_403_after_reading_it(site):
    with site.client() as client:
        answer = client.post("/login", content=b"username=x&password=" + b"y" * (MAX_FORM_BYTES + 1),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413 and "over" in answer.text


def test_a_form_with_more_fields_than_the_limit_is_a_413(site):
    with site.client("dana") as client:
        fields = "&".join(f"id={n}" for n in range(MAX_FORM_FIELDS + 1))
        answer = client.post("/cases/bulk", content=fields.encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413 and f"more than {MAX_FORM_FIELDS} fields" in answer.text
