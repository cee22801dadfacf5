"""The QBO sandbox throttles the batch endpoint at 40 calls a minute, on top of its 500 calls a minute."""

from __future__ import annotations

from starlette.testclient import TestClient

from sandbox.rate_limits import RateLimits
from sandbox.server import create_app

REALM = "9130300041"


def test_the_41st_batch_call_of_a_minute_is_throttled_while_other_calls_still_pass(tmp_path):
    now = [0.0]
    app = create_app(tmp_path, limits=RateLimits(enabled=True, clock=lambda: now[0]))
    items = {"BatchItemRequest": [{"bId": "0", "operation": "create", "Customer": {"DisplayName": "C"}}]}
    with TestClient(app) as client:
        client.headers["Authorization"] = "Bearer t"
        answers = []
        for n in range(41):
            now[0] = n * 0.2  # 5 a second: the per-second limit never bites
            items["BatchItemRequest"][0]["Customer"]["DisplayName"] = f"C{n}"
            answers.append(client.post(f"/v3/company/{REALM}/batch", json=items).status_code)
        query = client.get(f"/v3/company/{REALM}/query", params={"query": "select * from Customer"})
        now[0] = 60.1  # the first batch call has left the minute
        again = client.post(f"/v3/company/{REALM}/batch", json=items)

    assert answers[:40] == [200] * 40 and answers[40] == 429
    assert query.status_code == 200
    assert again.status_code == 200
