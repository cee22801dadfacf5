"""HousecallProSource against respx as its client's transport: pages, watermark, 429, bad key, bad bodies."""

from __future__ import annotations

import json

import httpx
import pytest

from connectors.errors import AuthError, FatalError, RejectedError, RetriableError
from source_fakes import HousecallProServer, hcp_job


def _run(source, cursor=None):
    pages = list(source.fetch_pages(cursor=cursor))
    return pages, [job for page in pages for job in page.jobs]


def test_a_first_run_reads_every_page_with_each_jobs_line_items(make_hcp, hcp_router):
    server = HousecallProServer([hcp_job(n, f"2025-06-0{9 - n}T12:00:00Z") for n in range(5)])
    route = hcp_router.route().mock(side_effect=server.answer)
    pages, jobs = _run(make_hcp())
    assert len(pages) == 3 and [job.external_id for job in jobs] == [f"job_{n:04d}" for n in range(5)]
    assert [line["id"] for line in jobs[0].payload["line_items"]] == ["li_01", "li_02"]
    assert json.loads(pages[-1].next_cursor) == {"watermark": "2025-06-09T12:00:00Z", "high": None, "page": None}
    assert server.pages_served == [1, 2, 3]
    assert route.calls[0].request.url.params.get_list("expand[]") == ["appointments", "attachments"]


def test_an_incremental_run_fetches_only_changed_jobs_and_stops_at_the_watermark(make_hcp, hcp_router):
    older = [hcp_job(n, f"2025-06-0{7 - n}T12:00:00Z") for n in range(5)]
    server = HousecallProServer([hcp_job(99, "2025-06-10T08:00:00Z"), *older])
    line_calls = hcp_router.get(path__regex=r"/jobs/.+/line_items").mock(side_effect=server.answer)
    hcp_router.route().mock(side_effect=server.answer)
    pages, jobs = _run(make_hcp(), cursor=json.dumps({"watermark": "2025-06-07T12:00:00Z"}))
    assert [job.external_id for job in jobs] == ["job_0099", "job_0000"]
    assert server.pages_served == [1, 2] and line_calls.call_count == 2
    assert json.loads(pages[-1].next_cursor)["watermark"] == "2025-06-10T08:00:00Z"


def test_a_run_resumed_mid_way_starts_at_the_next_page(make_hcp, hcp_router):
    server = HousecallProServer([hcp_job(n, f"2025-06-0{9 - n}T12:00:00Z") for n in range(5)])
    hcp_router.route().mock(side_effect=server.answer)
    _, jobs = _run(make_hcp(), cursor=json.dumps({"watermark": None, "high": "2025-06-09T12:00:00Z", "page": 2}))
    assert [job.external_id for job in jobs] == ["job_0002", "job_0003", "job_0004"]


def test_a_429_is_retriable_after_the_time_housecall_pro_asks(make_hcp, hcp_router):
    hcp_router.route().respond(429, headers={"Retry-After": "12"}, json={"message": "Too many requests"})
    with pytest.raises(RetriableError) as caught:
        _run(make_hcp())
    assert caught.value.retry_after == 12 and "Too many requests" in str(caught.value)


def test_a_refused_api_key_is_an_auth_error_without_the_key(make_hcp, hcp_router):
    hcp_router.route().respond(401, json={"message": "Invalid API key"})
    with pytest.raises(AuthError) as caught:
        _run(make_hcp())
    assert "Invalid API key" in str(caught.value) and "hcp-key-123" not in str(caught.value)


def test_a_body_that_is_not_json_is_retriable(make_hcp, hcp_router):
    hcp_router.route().respond(200, text='{"jobs": [', headers={"content-type": "application/json"})
    with pytest.raises(RetriableError) as caught:
        _run(make_hcp())
    assert caught.value.code == "malformed_json"


def test_a_server_that_ignores_the_page_number_is_stopped_instead_of_looped(make_hcp, hcp_router):
    server = HousecallProServer([hcp_job(n, f"2025-06-0{9 - n}T12:00:00Z") for n in range(5)])

    def same_page(request):
        if request.url.path == "/jobs":
            request = httpx.Request("GET", request.url.copy_set_param("page", "1"), headers=request.headers)
            answer = server.answer(request)
            return httpx.Response(200, json={**answer.json(), "page": None})
        return server.answer(request)

    hcp_router.route().mock(side_effect=same_page)
    with pytest.raises(FatalError) as caught:
        _run(make_hcp())
    assert caught.value.code == "repeated_cursor"


def test_one_job_by_id_comes_with_its_line_items_and_a_missing_one_is_rejected(make_hcp, hcp_router):
    server = HousecallProServer([hcp_job(3, "2025-06-09T12:00:00Z")])
    hcp_router.route().mock(side_effect=server.answer)
    (job,) = make_hcp().fetch_job("job_0003").jobs
    assert job.payload["job"]["invoice_number"] == "1103" and len(job.payload["line_items"]) == 2
    with pytest.raises(RejectedError):
        make_hcp().fetch_job("job_missing")
