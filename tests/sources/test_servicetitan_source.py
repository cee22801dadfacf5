"""ServiceTitanSource against respx as its client's transport: token + app key, modifiedOnOrAfter, pages, merges."""

from __future__ import annotations

import json

import httpx
import pytest

from connectors.errors import AuthError, FatalError, RetriableError
from source_fakes import ST_API, ST_AUTH, ServiceTitanServer, st_job


def _run(source, cursor=None):
    pages = list(source.fetch_pages(cursor=cursor))
    return pages, [job for page in pages for job in page.jobs]


@pytest.fixture
def server(st_router):
    fake = ServiceTitanServer([st_job(n, f"2025-06-0{n + 1}T12:00:00Z") for n in range(5)])
    st_router.post(f"{ST_AUTH}/connect/token").mock(side_effect=fake.token)
    st_router.get(url__startswith=ST_API).mock(side_effect=fake.answer)
    return fake


def test_a_first_run_reads_every_page_with_each_jobs_related_records(make_st, server):
    pages, jobs = _run(make_st())
    assert len(pages) == 4 and [job.external_id for job in jobs] == [str(88120000 + n) for n in (4, 3, 2, 1, 0)]
    payload = jobs[0].payload
    assert len(payload["appointments"]) == 2 and payload["assignments"][0]["technicianName"] == "Lee Park"
    assert payload["invoices"][0]["items"][1]["price"] == "150.00" and payload["customer"]["name"] == "Morgan Lee"
    assert json.loads(pages[-1].next_cursor) == {  # the last page is the export feed's, read for deletions
        "watermark": "2025-06-05T12:00:00Z", "high": None, "page": None,
        "export": "after|2025-06-05T12:00:00Z|88120004"}
    assert server.tokens_issued == 1


def test_an_incremental_run_asks_only_for_jobs_modified_since_the_watermark(make_st, server):
    server.jobs.append(st_job(9, "2025-06-10T08:00:00Z"))
    pages, jobs = _run(make_st(), cursor=json.dumps({"watermark": "2025-06-05T12:00:00Z"}))
    assert [job.external_id for job in jobs] == ["88120009", "88120004"]
    assert server.pages_served == [(1, "2025-06-05T12:00:00Z")]
    assert json.loads(pages[-1].next_cursor)["watermark"] == "2025-06-10T08:00:00Z"


def test_an_expired_token_gets_one_new_token_and_the_call_is_repeated(make_st, server):
    source = make_st()
    _run(source)
    server.valid_tokens.clear()  # the token expired between runs
    _, jobs = _run(source)
    assert len(jobs) == 5 and server.tokens_issued == 2


def test_refused_client_credentials_stop_with_an_auth_error_that_names_no_secret(make_st, st_router):
    st_router.post(f"{ST_AUTH}/connect/token").respond(400, json={"error": "invalid_client"})
    with pytest.raises(AuthError) as caught:
        _run(make_st())
    assert "invalid_client" in str(caught.value) and "st-secret-xyz" not in str(caught.value)


def test_a_429_is_retriable_after_the_time_servicetitan_asks(make_st, server, st_router):
    st_router.get(url__startswith=ST_API).respond(429, headers={"Retry-After": "1"},
                                                  json={"title": "Too Many Requests", "status": 429})
    with pytest.raises(RetriableError) as caught:
        _run(make_st())
    assert caught.value.retry_after == 1 and "Too Many Requests" in str(caught.value)


def test_a_body_that_is_not_json_is_retriable(make_st, server, st_router):
    st_router.get(url__startswith=ST_API).respond(200, text="<html>gateway</html>")
    with pytest.raises(RetriableError) as caught:
        _run(make_st())
    assert caught.value.code == "malformed_json"


def test_a_page_repeated_by_the_server_stops_the_run(make_st, server, st_router):
    def always_page_one(request):
        url = request.url.copy_set_param("page", "1") if request.url.path.endswith("/jobs") else request.url
        answer = server.answer(httpx.Request("GET", url, headers=request.headers))
        if request.url.path.endswith("/jobs"):
            return httpx.Response(200, json={**answer.json(), "page": None})
        return answer

    st_router.get(url__startswith=ST_API).mock(side_effect=always_page_one)
    with pytest.raises(FatalError) as caught:
        _run(make_st())
    assert caught.value.code == "repeated_cursor"


def test_a_merged_customer_is_followed_to_the_record_it_was_merged_into(make_st, server):
    fixture = server.fixture["customer"]
    server.records["customers/5510021"] = {**fixture, "mergedToId": 5519999, "active": False}
    server.records["customers/5519999"] = {**fixture, "id": 5519999, "name": "Morgan & Sam Lee"}
    _, jobs = _run(make_st())
    assert jobs[0].payload["customer"]["id"] == 5519999 and jobs[0].payload["customer"]["mergedFrom"] == ["5510021"]
