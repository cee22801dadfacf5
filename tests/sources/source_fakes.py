"""Fakes and payload builders the source tests share (a module, not conftest, so tests can import them)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import httpx

from services.config import (

    CompanyConfig, HousecallProSourceConfig, JobberSourceConfig, LedgerConfig, ServiceTitanSourceConfig,

)
from closeout.wiring import App
from connectors.oauth import TokenPair

FIXTURES = Path(__file__).parent / "fixtures"
JOBBER_API = "https://api.getjobber.com"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def jobber_node(n: int, updated_at: str, **changes: Any) -> dict[str, Any]:
    """The sources.md job with its own id, number and updatedAt."""
    node = copy.deepcopy(load_fixture("jobber_job.json"))
    node.update(id=base64.b64encode(f"gid://Jobber/Job/{n}".encode()).decode(), jobNumber=1000 + n,
                updatedAt=updated_at, **changes)
    return node


class MemoryTokens:
    """A token store that records every save, so tests see that the new pair is saved before it is used."""

    def __init__(self, access: str = "access-1", refresh: str = "refresh-1") -> None:
        self.current = TokenPair(access_token=access, refresh_token=refresh)
        self.saved: list[TokenPair] = []
        self.events: list[str] = []

    def load(self) -> TokenPair:
        return self.current

    def save(self, tokens: TokenPair) -> None:
        self.events.append(f"saved {tokens.refresh_token}")
        self.saved.append(tokens)
        self.current = tokens


class JobberServer:
    """Jobber's jobs connection over a list of nodes (newest first), relay cursors as base64 offsets."""

    def __init__(self, nodes: list[dict[str, Any]] | None = None) -> None:
        self.nodes = nodes or []
        self.pages_served: list[str | None] = []
        self.tokens_seen: list[str] = []

    def page(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.tokens_seen.append(request.headers["Authorization"])
        variables = body["variables"]
        if "jobs(" not in body["query"]:
            node = next((n for n in self.nodes if n["id"] == variables.get("id")), None)
            return httpx.Response(200, json={"data": {"job": node}})
        after = variables.get("after")
        self.pages_served.append(after)
        start = int(base64.b64decode(after)) if after else 0
        chunk = self.nodes[start : start + variables["first"]]
        end = start + len(chunk)
        info = {"hasNextPage": end < len(self.nodes), "endCursor": base64.b64encode(str(end).encode()).decode()}
        return httpx.Response(200, json={"data": {"jobs": {"nodes": copy.deepcopy(chunk), "pageInfo": info}},
                                         "extensions": {"cost": {"requestedQueryCost": 300, "actualQueryCost": 80}}})


SOURCE = JobberSourceConfig(kind="jobber")
HCP_SOURCE = HousecallProSourceConfig(kind="housecallpro")
ST_SOURCE = ServiceTitanSourceConfig(kind="servicetitan", tenant="1234567")
COMPANY = CompanyConfig(id="acme", name="Acme", timezone="America/Edmonton", currency="CAD",
                        ledger=LedgerConfig(realm_id="1"), sources=(SOURCE, HCP_SOURCE, ST_SOURCE))


class StubbedSourcesApp(App):
    """The real App, except that its connectors are the test's (respx transports, memory tokens), by kind."""

    connectors: dict = {}

    def source_for(self, source, company=None):
        return self.connectors[source.kind]


HCP_API = "https://api.housecallpro.com"


def hcp_job(n: int, updated_at: str, **changes: Any) -> dict[str, Any]:
    """The sources.md Housecall Pro job with its own id, invoice number and updated_at."""
    job = copy.deepcopy(load_fixture("housecallpro_job.json"))
    job.update(id=f"job_{n:04d}", invoice_number=str(1100 + n), updated_at=updated_at, **changes)
    return job


class HousecallProServer:
    """``GET /jobs`` (page / page_size / total_pages) over jobs newest first, and each job's line items."""

    def __init__(self, jobs: list[dict[str, Any]] | None = None) -> None:
        self.jobs = jobs or []
        self.pages_served: list[int] = []
        self.lines = load_fixture("housecallpro_line_items.json")

    def answer(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Token hcp-key-123"
        path = request.url.path
        if path.endswith("/line_items"):
            return httpx.Response(200, json=self.lines)
        if path != "/jobs":
            job = next((j for j in self.jobs if path == f"/jobs/{j['id']}"), None)
            return httpx.Response(200, json=job) if job else httpx.Response(404, json={"message": "Not found"})
        page, size = int(request.url.params["page"]), int(request.url.params["page_size"])
        assert request.url.params["sort_by"] == "updated_at" and request.url.params["sort_direction"] == "desc"
        self.pages_served.append(page)
        chunk = self.jobs[(page - 1) * size : page * size]
        total_pages = max(1, -(-len(self.jobs) // size))
        return httpx.Response(200, json={"page": page, "page_size": size, "total_pages": total_pages,
                                         "total_items": len(self.jobs), "jobs": copy.deepcopy(chunk)})


ST_API, ST_AUTH, ST_TENANT = "https://api.servicetitan.io", "https://auth.servicetitan.io", "1234567"


def st_job(n: int, modified_on: str, **changes: Any) -> dict[str, Any]:
    """The sources.md ServiceTitan job with its own id and modifiedOn."""
    job = copy.deepcopy(load_fixture("servicetitan_job.json")["job"])
    job.update(id=88120000 + n, jobNumber=str(88120000 + n), modifiedOn=modified_on, **changes)
    return job


class ServiceTitanServer:
    """Jobs by modifiedOnOrAfter (newest first, page/pageSize/hasMore) and each job's related records, and the
    jobs export feed: every live job (``active: true``) and every deleted one in the order they last changed,
    read after a ``continueFrom`` token (``after|<modifiedOn>|<id>``: a row changed later comes after it
    again), from a date, or from the start; ``export_page_size`` rows an answer.

    ``delete(job_id, at)`` deletes a job as ServiceTitan would: gone from the list and from ``GET jobs/{id}``,
    in the export feed as a row modified at ``at`` saying ``active: false`` (``flag=None``: with no ``active``;
    ``export_flags=False`` also leaves it off the live rows).
    """

    def __init__(self, jobs: list[dict[str, Any]] | None = None, *, export_page_size: int = 50,
                 export_flags: bool = True) -> None:
        self.jobs = jobs or []
        self.deleted: list[dict[str, Any]] = []
        self.fixture = load_fixture("servicetitan_job.json")
        self.records: dict[str, dict[str, Any]] = {}
        self.pages_served: list[tuple[int, str | None]] = []
        self.exports_served: list[str | None] = []
        self.jobs_read: list[str] = []
        self.export_page_size, self.export_flags = export_page_size, export_flags
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()

    def delete(self, job_id: int, at: str, *, flag: bool | None = False) -> dict[str, Any]:
        job = next(j for j in self.jobs if j["id"] == job_id)
        self.jobs.remove(job)
        row = {**job, "modifiedOn": at, "active": flag}
        if flag is None:
            del row["active"]
        self.deleted.append(row)
        return row

    def export(self, params: httpx.QueryParams) -> httpx.Response:
        assert params["includeRecentChanges"] == "true"
        since = params.get("from")
        self.exports_served.append(since)
        live = [{**j, "active": True} if self.export_flags else dict(j) for j in self.jobs]
        rows = sorted(live + self.deleted, key=lambda j: (j["modifiedOn"], str(j["id"])))
        if since is None:
            rows_after = rows
        elif since.startswith("after|"):
            _, modified, job_id = since.split("|")
            rows_after = [r for r in rows if (r["modifiedOn"], str(r["id"])) > (modified, job_id)]
        else:  # a date: the rows modified on or after it
            rows_after = [r for r in rows if r["modifiedOn"] >= since]
        chunk = rows_after[: self.export_page_size]
        token = f"after|{chunk[-1]['modifiedOn']}|{chunk[-1]['id']}" if chunk else (since or "after||")
        return httpx.Response(200, json={"hasMore": len(rows_after) > len(chunk), "continueFrom": token,
                                         "data": copy.deepcopy(chunk)})

    def token(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        assert form["grant_type"] == "client_credentials"
        self.tokens_issued += 1
        token = f"st-token-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return httpx.Response(200, json={"access_token": token, "expires_in": 900, "token_type": "Bearer"})

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("ST-App-Key") != "app-key-1":
            return httpx.Response(401, json={"title": "App key missing", "status": 401})
        if request.headers["Authorization"].removeprefix("Bearer ") not in self.valid_tokens:
            return httpx.Response(401, json={"title": "Unauthorized", "status": 401})
        path, params = request.url.path.split(f"/tenant/{ST_TENANT}/")[1], request.url.params
        if path == "export/jobs":
            return self.export(params)
        if path == "jobs":
            page, size = int(params["page"]), int(params["pageSize"])
            assert params["sort"] == "-ModifiedOn"
            since = params.get("modifiedOnOrAfter")
            self.pages_served.append((page, since))
            rows = sorted((j for j in self.jobs if not since or j["modifiedOn"] >= since),
                          key=lambda j: j["modifiedOn"], reverse=True)
            chunk = rows[(page - 1) * size : page * size]
            return httpx.Response(200, json={"page": page, "pageSize": size, "hasMore": page * size < len(rows),
                                             "totalCount": None, "data": copy.deepcopy(chunk)})
        if path.startswith("jobs/"):
            self.jobs_read.append(path.split("/")[1])
            job = next((j for j in self.jobs if str(j["id"]) == path.split("/")[1]), None)
            return httpx.Response(200, json=job) if job else httpx.Response(404, json={"title": "Not Found"})
        if path in ("appointments", "appointment-assignments", "invoices"):
            key = {"appointment-assignments": "assignments"}.get(path, path)
            return httpx.Response(200, json=self.fixture[key])
        kind, record_id = path.split("/")
        record = self.records.get(path) or copy.deepcopy(self.fixture[kind.removesuffix("s")])
        return httpx.Response(200, json=record)
