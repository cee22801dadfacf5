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

Deletions: the transactional list leaves deleted jobs out, so after its last page the run reads the jobs
export feed (``/jpm/v2/tenant/{tenant}/export/jobs``), which "returns active, inactive and deleted" rows
(sources.md §3 [32]; developer.servicetitan.io/docs/transactional-and-export-apis), from the
``continueFrom`` token of the last read (``from``; the first time, the run's starting watermark as a date,
or the beginning when there is none), with ``includeRecentChanges=true`` (changes sooner; rows may repeat,
which landing and ``SourceDeletion.applied_to`` absorb). How a deleted row shows is not documented, so both
plausible signals are read, and nothing is deleted on a guess:

* ``active: false`` on the row: landed as ``{"exportRow": row}``;
* no usable ``active`` flag: the job is looked up (``GET jobs/{id}``); only a 404 lands
  ``{"exportRow": row, "jobRead": "not_found"}``. This costs one call per such row, and happens only if
  ServiceTitan's rows carry no flag;
* ``active: true``: a live job, which the transactional list reads with its related records: skipped.

A landed deletion row keeps the job's id as its key (``mappings.servicetitan`` maps it to a
``SourceDeletion``), so a job ServiceTitan deleted that Closeout never saw is still landed, not dropped.

Cursor (JSON): ``{"watermark": iso, "high": iso, "page": n, "export": token}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx

from connectors.errors import AuthError, FatalError, RejectedError
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

        export, last = state.get("export"), None
        for last in numbered_pages(read_page, watermark=watermark, high=high, page=page):
            yield SourcePage(jobs=last.jobs, next_cursor=_with_export(last.next_cursor, export))
        assert last is not None  # numbered_pages yields at least one page
        yield from self._deletions(after=last.next_cursor, token=export, start=watermark)

    def _deletions(self, *, after: str | None, token: str | None, start: str | None) -> Iterator[SourcePage]:
        """The jobs export feed from ``token`` (else from the date ``start``, else from its beginning): a page of
        deletion records per answer, each with the cursor ``after`` (the list's final one) and its ``continueFrom``.

        An answer without ``continueFrom``, or one that gives back a token already read while saying it has
        more, is ``FatalError``: resuming would re-read the feed from the start, or loop.
        """
        tokens: set[str] = set()
        while True:
            params: dict[str, Any] = {"includeRecentChanges": "true"}
            if token or start:
                params["from"] = token or start
            body = self._get(self._path("jpm", "export/jobs"), "export jobs", params=params)
            rows = [row for row in body.get("data") or [] if isinstance(row, dict)]
            more, following = bool(body.get("hasMore")), str(body.get("continueFrom") or "")
            if not following:
                raise FatalError("the jobs export answered without a continueFrom token; stopping rather than "
                                 "read the feed from its start again", system=self.name, operation="export jobs",
                                 code="no_continue_from")
            if more and (following in tokens or following == token):
                raise FatalError("the jobs export gave back a continueFrom token already read; stopping rather than "
                                 "looping", system=self.name, operation="export jobs", code="repeated_cursor")
            tokens.add(following)
            token = following
            jobs = [job for job in (self._deletion(row) for row in rows) if job is not None]
            yield SourcePage(jobs=tuple(jobs), next_cursor=_with_export(after, token))
            if not more or not rows:
                return

    def _deletion(self, row: dict[str, Any]) -> SourceJob | None:
        """The deletion record to land for an export row; None for a live job (see the module's "Deletions")."""
        job_id = job_id_of(row, system=self.name, label="ServiceTitan")
        active = row.get("active")
        if active is True:
            return None
        payload: dict[str, Any] = {"exportRow": row}
        if active is not False:
            if self._job_exists(job_id):
                return None
            payload["jobRead"] = "not_found"
        return SourceJob(source=SYSTEM, stream=f"{self.name}/export/jobs", external_id=job_id,
                         locator=f"servicetitan job {row.get('jobNumber') or '?'} ({job_id}) in the jobs export",
                         payload=payload)

    def _job_exists(self, job_id: str) -> bool:
        try:
            self._get(self._path("jpm", f"jobs/{job_id}"), "read job", missing_is_rejected=True)
        except RejectedError as exc:
            if exc.code == "not_found":
                return False
            raise
        return True

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
    return read_cursor(cursor, keys={"watermark", "high", "page", "export"}, system=SYSTEM, label="ServiceTitan")


def _with_export(cursor: str | None, export: str | None) -> str:
    """The list's cursor with the export feed's token added: both resume from one stored cursor."""
    return json.dumps({**json.loads(cursor or "{}"), "export": export}, sort_keys=True)
