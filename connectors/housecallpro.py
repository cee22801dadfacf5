"""Housecall Pro as a source: REST v1 with a company API key, jobs newest-updated first down to a watermark.

Facts this follows (shared/reference/sources.md §2): ``Authorization: Token <api key>`` (not Bearer);
``GET /jobs`` has no updated_at filter, so we ask ``sort_by=updated_at&sort_direction=desc`` and stop at the
first job older than the watermark minus an overlap; paging is ``page`` (1-based) / ``page_size`` with
``total_pages`` in the answer; line items are a separate call per job (``GET /jobs/{id}/line_items``);
appointments and attachments come with ``expand[]``. Rate limits are undocumented: HTTP 429 (with
``Retry-After``) is retriable. The landed payload is ``{"job": …, "line_items": […]}``.

Cursor (JSON): ``{"watermark": iso, "high": iso, "page": n}``; mid-run pages carry where to resume.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx

from connectors.source_http import read_json_object, send
from connectors.source_paging import (
    SourceJob, SourcePage, check_new_page, job_id_of, numbered_pages, parse_time, read_cursor,
)

SYSTEM = "housecallpro"
DEFAULT_API = "https://api.housecallpro.com"
EXPAND = [("expand[]", "appointments"), ("expand[]", "attachments")]


class HousecallProSource:
    """Reads jobs and their line items (never writes) through the connector's own ``httpx.Client``."""

    def __init__(self, *, client: httpx.Client, api_key: str, api_url: str = DEFAULT_API, name: str = SYSTEM,
                 page_size: int = 100, overlap: timedelta = timedelta(minutes=5)) -> None:
        self.client, self._api_key = client, api_key
        self.api_url, self.name = api_url.rstrip("/"), name
        self.page_size, self.overlap = max(1, min(page_size, 200)), overlap

    def fetch_pages(self, *, cursor: str | None) -> Iterator[SourcePage]:
        state = _read_cursor(cursor)
        watermark, high, page = state.get("watermark"), state.get("high"), int(state.get("page") or 1)
        cutoff = _parse_time(watermark) - self.overlap if watermark else None
        first_ids: set[str] = set()

        def read_page(page: int, high: str | None) -> tuple[list[SourceJob], str | None, bool]:
            params = [("page", page), ("page_size", self.page_size), ("sort_by", "updated_at"),
                      ("sort_direction", "desc"), *EXPAND]
            body = self._get("/jobs", "list jobs", params=params)
            jobs_in_page = [j for j in body.get("jobs") or [] if isinstance(j, dict)]
            check_new_page(body, jobs_in_page, page, first_ids, system=self.name, label="Housecall Pro")
            jobs, reached = [], False
            for job in jobs_in_page:
                updated = _parse_time(job.get("updated_at"))
                if cutoff is not None and updated < cutoff:
                    reached = True
                    break
                jobs.append(self._with_lines(job))
                high = max(high, job["updated_at"], key=_parse_time) if high else job["updated_at"]
            return jobs, high, not reached and bool(jobs_in_page) and page < int(body.get("total_pages") or 0)

        yield from numbered_pages(read_page, watermark=watermark, high=high, page=page)

    def fetch_job(self, job_id: str) -> SourcePage:
        """One job by id (a webhook named it), with its line items; no cursor."""
        job = self._get(f"/jobs/{job_id}", "read job", params=EXPAND, missing_is_rejected=True)
        return SourcePage(jobs=(self._with_lines(job),), next_cursor=None)

    def check(self) -> str:
        body = self._get("/jobs", "list jobs", params=[("page", 1), ("page_size", 1)])
        return f"Housecall Pro API key accepted ({body.get('total_items', '?')} jobs visible)"

    def _with_lines(self, job: dict[str, Any]) -> SourceJob:
        job_id = job_id_of(job, system=self.name, label="Housecall Pro")
        lines = self._get(f"/jobs/{job_id}/line_items", "read line items").get("line_items")
        payload = {"job": job, "line_items": lines if isinstance(lines, list) else []}
        return SourceJob(source=SYSTEM, stream=f"{self.name}/jobs", external_id=job_id,
                         locator=f"housecallpro job {job.get('invoice_number') or '?'} ({job_id})", payload=payload)

    def _get(self, path: str, operation: str, *, params: Any = None, missing_is_rejected: bool = False) -> dict:
        response = send(self.client, "GET", f"{self.api_url}{path}", system=self.name, operation=operation,
                        params=params, headers={"Authorization": f"Token {self._api_key}", "Accept": "application/json"},
                        missing_is_rejected=missing_is_rejected)
        return read_json_object(response, system=self.name, operation=operation)


def _parse_time(text: Any) -> datetime:
    return parse_time(text, system=SYSTEM, label="Housecall Pro", field="updated_at")


def _read_cursor(cursor: str | None) -> dict[str, Any]:
    return read_cursor(cursor, keys={"watermark", "high", "page"}, system=SYSTEM, label="Housecall Pro")


# ---- webhooks: Housecall Pro signs Api-Timestamp + "." + body (Api-Signature) ---------------------------------


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_is_valid(secret: str, body: bytes, headers) -> bool:
    given, timestamp = headers.get("Api-Signature", ""), headers.get("Api-Timestamp", "")
    return bool(given and timestamp) and hmac.compare_digest(given, webhook_signature(secret, timestamp, body))


def webhook_signed_content(body: bytes, headers) -> bytes:
    """What Housecall Pro's signature covers, and so what names one delivery: ``Api-Timestamp`` . body."""
    return headers.get("Api-Timestamp", "").encode() + b"." + body


def webhook_sent_at(body: bytes, headers) -> float | None:
    """Housecall Pro's ``Api-Timestamp`` (Unix seconds), which its signature covers."""
    try:
        return float(int(headers.get("Api-Timestamp", "")))
    except ValueError:
        return None


def webhook_item(event: dict) -> tuple[str, str | None]:
    """Housecall Pro sends the whole job; we still pull it, because its line items are a separate call."""
    topic = str(event["event"])
    job = event.get("job")
    return topic, (str(job["id"]) if topic.startswith("job.") and isinstance(job, dict) and job.get("id") else None)
