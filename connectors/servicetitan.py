"""ServiceTitan as a source: REST v2, client-credentials OAuth plus ``ST-App-Key``, jobs by ``modifiedOnOrAfter``.

Facts this follows (shared/reference/sources.md §3): token from ``POST {auth}/connect/token``
(``grant_type=client_credentials``); every call sends ``Authorization: Bearer`` and ``ST-App-Key``; paths
are ``/{module}/v2/tenant/{tenant}/…``; lists page with ``page``/``pageSize`` and answer ``hasMore``; 429
carries ``Retry-After``; errors are RFC 7807 bodies. Jobs are read newest-modified first
(``sort=-ModifiedOn``) so that a job modified during the run moves to pages already read instead of
shifting an unread job onto one; the filter ``modifiedOnOrAfter`` is inclusive, so the job at the
watermark is re-read (landing dedupes). Per job we also read its appointments, their technician
assignments, its invoices (the billed items) and its customer and location, following ``mergedToId``.
The landed payload is ``{"job", "appointments", "assignments", "invoices", "customer", "location"}``.

Cursor (JSON): ``{"watermark": iso, "high": iso, "page": n}``. Not built: the export feeds that also
return deleted jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx

from connectors.errors import AuthError, FatalError
from connectors.source_http import read_json, read_json_object, send
from connectors.source_paging import (
    SourceJob, SourcePage, check_new_page, job_id_of, numbered_pages, parse_time, read_cursor,
)

SYSTEM = "servicetitan"
DEFAULT_API = "https://api.servicetitan.io"
DEFAULT_AUTH = "https://auth.servicetitan.io"
MAX_MERGES = 5


class ServiceTitanSource:
    """Reads one tenant's jobs (never writes) through the connector's own ``httpx.Client``."""

    def __init__(self, *, client: httpx.Client, tenant: str, app_key: str, client_id: str, client_secret: str,
                 api_url: str = DEFAULT_API, auth_url: str = DEFAULT_AUTH, name: str = SYSTEM,
                 page_size: int = 50) -> None:
        self.client, self.tenant, self.name = client, tenant, name
        self._app_key, self._client_id, self._client_secret = app_key, client_id, client_secret
        self.api_url, self.auth_url = api_url.rstrip("/"), auth_url.rstrip("/")
        self.page_size = max(1, min(page_size, 5000))
        self._token: str | None = None

    def fetch_pages(self, *, cursor: str | None) -> Iterator[SourcePage]:
        state = _read_cursor(cursor)
        watermark, high, page = state.get("watermark"), state.get("high"), int(state.get("page") or 1)
        seen_first: set[str] = set()

        def read_page(page: int, high: str | None) -> tuple[list[SourceJob], str | None, bool]:
            params: dict[str, Any] = {"page": page, "pageSize": self.page_size, "sort": "-ModifiedOn"}
            if watermark:
                params["modifiedOnOrAfter"] = watermark
            body = self._get(self._path("jpm", "jobs"), "list jobs", params=params)
            rows = [row for row in body.get("data") or [] if isinstance(row, dict)]
            check_new_page(body, rows, page, seen_first, system=self.name, label="ServiceTitan")
            jobs = [self._job(row) for row in rows]
            for row in rows:
                modified = str(row.get("modifiedOn") or "")
                _parse_time(modified)
                high = max(high, modified, key=_parse_time) if high else modified
            return jobs, high, bool(body.get("hasMore")) and bool(rows)

        yield from numbered_pages(read_page, watermark=watermark, high=high, page=page)

    def fetch_job(self, job_id: str) -> SourcePage:
        row = self._get(self._path("jpm", f"jobs/{job_id}"), "read job", missing_is_rejected=True)
        return SourcePage(jobs=(self._job(row),), next_cursor=None)

    def check(self) -> str:
        self._get(self._path("jpm", "jobs"), "list jobs", params={"page": 1, "pageSize": 1})
        return f"ServiceTitan tenant {self.tenant}: token and app key accepted"

    def _path(self, module: str, resource: str) -> str:
        return f"/{module}/v2/tenant/{self.tenant}/{resource}"

    def _job(self, row: dict[str, Any]) -> SourceJob:
        job_id = job_id_of(row, system=self.name, label="ServiceTitan")
        by_job = {"jobId": job_id}
        payload = {
            "job": row,
            "appointments": self._all(self._path("jpm", "appointments"), "read appointments", by_job),
            "assignments": self._all(self._path("dispatch", "appointment-assignments"), "read assignments", by_job),
            "invoices": self._all(self._path("accounting", "invoices"), "read invoices", by_job),
            "customer": self._follow_merges("customers", row.get("customerId")),
            "location": self._follow_merges("locations", row.get("locationId")),
        }
        return SourceJob(source=SYSTEM, stream=f"{self.name}/jobs", external_id=job_id,
                         locator=f"servicetitan job {row.get('jobNumber') or '?'} ({job_id})", payload=payload)

    def _all(self, path: str, operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        found, page = [], 1
        while True:
            body = self._get(path, operation, params={**params, "page": page, "pageSize": 50})
            found.extend(row for row in body.get("data") or [] if isinstance(row, dict))
            if not body.get("hasMore") or page >= 100:
                return found
            page += 1

    def _follow_merges(self, kind: str, record_id: Any) -> dict[str, Any] | None:
        """The record, or the one it was merged into (``mergedToId``), with ``mergedFrom`` naming the chain."""
        if record_id is None:
            return None
        chain: list[str] = []
        record = self._get(self._path("crm", f"{kind}/{record_id}"), f"read {kind}")
        while record.get("mergedToId") and len(chain) < MAX_MERGES:
            chain.append(str(record.get("id")))
            record = self._get(self._path("crm", f"{kind}/{record['mergedToId']}"), f"read {kind}")
        return {**record, "mergedFrom": chain} if chain else record

    def _get(self, path: str, operation: str, *, params: Any = None, missing_is_rejected: bool = False) -> dict:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._access_token()}", "ST-App-Key": self._app_key}
            try:
                response = send(self.client, "GET", f"{self.api_url}{path}", system=self.name, operation=operation,
                                params=params, headers=headers, missing_is_rejected=missing_is_rejected)
            except AuthError as exc:
                if exc.code == "http_401" and attempt == 1:
                    self._token = None  # expired: one new token, then give up loudly
                    continue
                raise
            return read_json_object(response, system=self.name, operation=operation)
        raise AssertionError("unreachable")

    def _access_token(self) -> str:
        if self._token is None:
            form = {"grant_type": "client_credentials", "client_id": self._client_id,
                    "client_secret": self._client_secret}
            try:
                response = send(self.client, "POST", f"{self.auth_url}/connect/token", data=form, system=self.name,
                                operation="get token")
            except FatalError as exc:
                raise AuthError(f"the client id/secret were refused ({exc.message}); check the tenant's app "
                                "connection", system=self.name, operation="get token", code="token_refused") from None
            body = read_json(response, system=self.name, operation="get token")
            if not isinstance(body, dict) or not body.get("access_token"):
                raise AuthError("the token endpoint answered without an access token", system=self.name,
                                operation="get token", code="token_incomplete")
            self._token = str(body["access_token"])
        return self._token


def _parse_time(text: str) -> datetime:
    # no zone means UTC: ServiceTitan documents every time as UTC
    return parse_time(text, system=SYSTEM, label="ServiceTitan", field="modifiedOn", standard="RFC 3339")


def _read_cursor(cursor: str | None) -> dict[str, Any]:
    return read_cursor(cursor, keys={"watermark", "high", "page"}, system=SYSTEM, label="ServiceTitan")
