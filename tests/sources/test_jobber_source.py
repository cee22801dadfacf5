"""JobberSource against respx as its client's transport: pages, watermark, throttling, token rotation, bad bodies."""

from __future__ import annotations

import json

import httpx
import pytest

from connectors.errors import AuthError, FatalError, RetriableError
from source_fakes import JobberServer, jobber_node, load_fixture


def _run(source, cursor=None):
    pages = list(source.fetch_pages(cursor=cursor))
    return pages, [job for page in pages for job in page.jobs]


def test_a_first_run_reads_every_page_and_leaves_the_newest_updated_at_as_watermark(make_jobber, jobber_router):
    server = JobberServer([jobber_node(n, f"2025-06-0{9 - n}T12:00:00Z") for n in range(5)])
    route = jobber_router.post("/api/graphql").mock(side_effect=server.page)
    pages, jobs = _run(make_jobber())
    assert len(pages) == 3 and len(jobs) == 5
    assert [job.payload["jobNumber"] for job in jobs] == [1000, 1001, 1002, 1003, 1004]
    assert json.loads(pages[-1].next_cursor) == {"watermark": "2025-06-09T12:00:00Z", "high": None, "after": None}
    first = route.calls[0].request
    assert first.headers["X-JOBBER-GRAPHQL-VERSION"] == "2025-01-20"
    assert first.headers["Authorization"] == "Bearer access-1"
    assert "sort: {key: UPDATED_AT, direction: DESCENDING}" in json.loads(first.content)["query"]


def test_a_mid_run_page_keeps_the_old_watermark_and_says_where_to_resume(make_jobber, jobber_router):
    server = JobberServer([jobber_node(n, f"2025-06-0{9 - n}T12:00:00Z") for n in range(3)])
    jobber_router.post("/api/graphql").mock(side_effect=server.page)
    pages, _ = _run(make_jobber(), cursor=json.dumps({"watermark": "2025-06-01T00:00:00Z"}))
    assert json.loads(pages[0].next_cursor) == {"watermark": "2025-06-01T00:00:00Z", "high": "2025-06-09T12:00:00Z",
                                                "after": "Mg=="}


def test_an_incremental_run_fetches_only_jobs_changed_since_the_watermark_and_stops_paging(make_jobber, jobber_router):
    older = [jobber_node(n, f"2025-06-0{7 - n}T12:00:00Z") for n in range(5)]
    changed = jobber_node(99, "2025-06-10T08:00:00Z")
    server = JobberServer([changed, *older])
    jobber_router.post("/api/graphql").mock(side_effect=server.page)
    pages, jobs = _run(make_jobber(), cursor=json.dumps({"watermark": "2025-06-07T12:00:00Z"}))
    # the overlap re-reads the job at the watermark itself; page 2 shows an older job, page 3 is never asked for
    assert [job.payload["jobNumber"] for job in jobs] == [1099, 1000]
    assert server.pages_served == [None, "Mg=="]
    assert json.loads(pages[-1].next_cursor)["watermark"] == "2025-06-10T08:00:00Z"


def test_a_run_resumed_from_a_mid_run_cursor_continues_after_the_committed_page(make_jobber, jobber_router):
    server = JobberServer([jobber_node(n, f"2025-06-0{9 - n}T12:00:00Z") for n in range(5)])
    jobber_router.post("/api/graphql").mock(side_effect=server.page)
    cursor = json.dumps({"watermark": None, "high": "2025-06-09T12:00:00Z", "after": "Mg=="})
    pages, jobs = _run(make_jobber(), cursor=cursor)
    assert [job.payload["jobNumber"] for job in jobs] == [1002, 1003, 1004]
    assert json.loads(pages[-1].next_cursor)["watermark"] == "2025-06-09T12:00:00Z"


def test_cost_throttling_in_a_200_is_retriable_with_the_wait_the_bucket_needs(make_jobber, jobber_router):
    jobber_router.post("/api/graphql").respond(200, json=load_fixture("jobber_throttled.json"))
    with pytest.raises(RetriableError) as caught:
        _run(make_jobber())
    assert caught.value.code == "throttled"
    assert caught.value.retry_after == pytest.approx((3120 - 120) / 500)


def test_the_ddos_guard_429_is_retriable_after_the_time_jobber_asks(make_jobber, jobber_router):
    jobber_router.post("/api/graphql").respond(429, headers={"Retry-After": "30"}, text="Too Many Requests")
    with pytest.raises(RetriableError) as caught:
        _run(make_jobber())
    assert caught.value.code == "rate_limited" and caught.value.retry_after == 30


@pytest.mark.parametrize("refusal", ["http_401", "unauthenticated_in_200"])
def test_a_refused_token_is_refreshed_and_the_rotated_pair_is_saved_before_it_is_used(
    make_jobber, jobber_router, tokens, refusal
):
    server = JobberServer([jobber_node(1, "2025-06-09T12:00:00Z")])
    refused = (httpx.Response(401, json={"message": "expired"}) if refusal == "http_401"
               else httpx.Response(200, json=load_fixture("jobber_unauthenticated.json")))

    def answer(request):
        if request.headers["Authorization"] == "Bearer access-1":
            return refused
        tokens.events.append(f"used {request.headers['Authorization']}")
        return server.page(request)

    jobber_router.post("/api/graphql").mock(side_effect=answer)
    refresh = jobber_router.post("/api/oauth/token").respond(200, json=load_fixture("jobber_token.json"))
    _, jobs = _run(make_jobber())
    assert len(jobs) == 1
    form = dict(httpx.QueryParams(refresh.calls[0].request.content.decode()))
    assert form == {"grant_type": "refresh_token", "refresh_token": "refresh-1", "client_id": "client-id",
                    "client_secret": "client-secret-xyz"}
    assert tokens.events == ["saved refresh-2", "used Bearer access-2"]


def test_a_refused_refresh_token_stops_with_an_auth_error_that_names_no_secret(make_jobber, jobber_router):
    jobber_router.post("/api/graphql").respond(401, json={"message": "expired"})
    jobber_router.post("/api/oauth/token").respond(401, json={"error": "invalid_grant"})
    with pytest.raises(AuthError) as caught:
        _run(make_jobber())
    text = str(caught.value)
    assert "reconnect the Jobber app" in text
    assert "refresh-1" not in text and "client-secret-xyz" not in text and "access-1" not in text


def test_a_body_that_is_not_json_is_retriable_and_says_what_came_back(make_jobber, jobber_router):
    jobber_router.post("/api/graphql").respond(200, text="<html>502 Bad Gateway</html>",
                                               headers={"content-type": "text/html"})
    with pytest.raises(RetriableError) as caught:
        _run(make_jobber())
    assert caught.value.code == "malformed_json" and "text/html" in str(caught.value)


def test_a_repeated_page_cursor_stops_the_run_instead_of_looping(make_jobber, jobber_router):
    page = {"data": {"jobs": {"nodes": [jobber_node(1, "2025-06-09T12:00:00Z")],
                              "pageInfo": {"hasNextPage": True, "endCursor": "SAME"}}}}
    jobber_router.post("/api/graphql").respond(200, json=page)
    with pytest.raises(FatalError) as caught:
        _run(make_jobber())
    assert caught.value.code == "repeated_cursor"


def test_a_query_error_for_the_pinned_version_is_fatal_and_names_the_version(make_jobber, jobber_router):
    body = {"errors": [{"message": "Field 'ticking' doesn't exist on type 'TimeSheetEntry'"}], "data": None}
    jobber_router.post("/api/graphql").respond(200, json=body)
    with pytest.raises(FatalError) as caught:
        _run(make_jobber())
    assert "ticking" in str(caught.value) and "2025-01-20" in str(caught.value)


def test_a_nested_connection_with_more_pages_is_read_to_the_end(make_jobber, jobber_router):
    node = jobber_node(1, "2025-06-09T12:00:00Z")
    node["lineItems"]["pageInfo"] = {"hasNextPage": True, "endCursor": "Mg"}
    extra = {"id": "line-3", "name": "Permit", "description": "", "category": "SERVICE", "quantity": 1.0,
             "unitPrice": 55.0, "unitCost": None, "totalPrice": 55.0, "taxable": False}
    server = JobberServer([node])

    def answer(request):
        body = json.loads(request.content)
        if "JobConnection" in body["query"]:
            assert body["variables"] == {"id": node["id"], "after": "Mg"}
            page = {"nodes": [extra], "pageInfo": {"hasNextPage": False, "endCursor": "Mw"}}
            return httpx.Response(200, json={"data": {"job": {"lineItems": page}}})
        return server.page(request)

    jobber_router.post("/api/graphql").mock(side_effect=answer)
    _, jobs = _run(make_jobber())
    assert [line["name"] for line in jobs[0].payload["lineItems"]["nodes"]] == [
        "50 gal gas water heater", "Install labour", "Permit"]


def test_fetching_one_job_by_id_gives_a_page_without_a_cursor(make_jobber, jobber_router):
    node = jobber_node(7, "2025-06-09T12:00:00Z")
    jobber_router.post("/api/graphql").mock(side_effect=JobberServer([node]).page)
    page = make_jobber().fetch_job(node["id"])
    assert [job.external_id for job in page.jobs] == [node["id"]] and page.next_cursor is None
    assert make_jobber().fetch_job("missing").jobs == ()
