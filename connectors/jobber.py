"""Jobber as a source: GraphQL jobs newest-first down to a watermark, OAuth with refresh-token rotation.

Facts this follows (shared/reference/sources.md §1): one endpoint ``POST {api}/api/graphql``; the schema
version is pinned with ``X-JOBBER-GRAPHQL-VERSION``; ``jobs`` has no updatedAt filter, so we sort
``UPDATED_AT DESCENDING`` and stop at the first job older than the watermark (minus an overlap, since
equal timestamps and clock skew exist; re-delivered jobs are deduplicated by landing); throttling is
HTTP 200 with ``errors[].extensions.code == "THROTTLED"`` and the cost bucket in ``extensions.cost``, or
HTTP 429; an expired token is HTTP 401 or ``UNAUTHENTICATED`` in a 200. Refresh tokens rotate: the new
pair is saved *before* the new access token is used, so a crash never leaves only a dead token on disk.

Cursor (JSON): ``{"watermark": iso, "high": iso, "after": relay cursor}``. Mid-run pages carry the old
watermark plus where to resume (``after``) and the highest ``updatedAt`` seen (``high``); the last page
sets ``watermark = high``. A run killed mid-way resumes where its last committed page ended.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx

from connectors.errors import AuthError, FatalError, RetriableError
from connectors.oauth import TokenPair, TokenVault
from connectors.source_http import read_json, read_json_object, send
from connectors.source_paging import SourceJob, SourcePage, parse_time, read_cursor, write_cursor

SYSTEM = "jobber"
DEFAULT_API = "https://api.getjobber.com"
DEFAULT_VERSION = "2025-01-20"
NESTED = ("lineItems", "visits", "timeSheetEntries", "notes", "noteAttachments")

_NESTED_FIELDS = {
    "lineItems": "id name description category quantity unitPrice unitCost totalPrice taxable",
    "visits": "id title visitStatus startAt endAt completedAt assignedUsers(first: 10) { nodes { id name { full } } }",
    "timeSheetEntries": "id startAt endAt finalDuration labourRate approved ticking user { id name { full } } visit { id }",
    "notes": "... on JobNote { id message createdAt } ... on ClientNote { id message createdAt }",
    "noteAttachments": "id fileName contentType fileSize url thumbnailUrl",
}
_JOB_FIELDS = (
    "id jobNumber title instructions jobStatus jobType billingType startAt endAt completedAt createdAt updatedAt "
    "total uninvoicedTotal "
    "client { id name companyName isCompany emails { address primary } phones { number primary } "
    "billingAddress { street1 street2 city province postalCode country } } "
    "property { id name address { street1 street2 city province postalCode country } taxRate { id name tax } } "
    + " ".join(f"{name}(first: 50) {{ nodes {{ {fields} }} pageInfo {{ hasNextPage endCursor }} }}"
               for name, fields in _NESTED_FIELDS.items())
)
JOBS_QUERY = (
    "query JobsChanged($first: Int!, $after: String) { jobs(first: $first, after: $after, "
    "sort: {key: UPDATED_AT, direction: DESCENDING}) { nodes { " + _JOB_FIELDS + " } "
    "pageInfo { hasNextPage endCursor } } }"
)
JOB_QUERY = "query OneJob($id: EncodedId!) { job(id: $id) { " + _JOB_FIELDS + " } }"
NESTED_QUERY = (
    "query JobConnection($id: EncodedId!, $after: String) {{ job(id: $id) {{ {name}(first: 100, after: $after) "
    "{{ nodes {{ {fields} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"
)
ACCOUNT_QUERY = "query Account { account { id name } }"


class JobberSource:
    """Reads jobs (never writes) through the connector's own ``httpx.Client``, which tests give a respx transport."""

    def __init__(
        self, *, client: httpx.Client, tokens: TokenVault, client_id: str, client_secret: str,
        api_url: str = DEFAULT_API, version: str = DEFAULT_VERSION, name: str = SYSTEM, page_size: int = 25,
        overlap: timedelta = timedelta(minutes=5),
    ) -> None:
        self.client, self.tokens = client, tokens
        self._client_id, self._client_secret = client_id, client_secret
        self.api_url, self.version, self.name = api_url.rstrip("/"), version, name
        self.page_size, self.overlap = max(1, page_size), overlap

    # -- pages -------------------------------------------------------------------------------------------

    def fetch_pages(self, *, cursor: str | None) -> Iterator[SourcePage]:
        """Jobs changed since the watermark, newest first, a page at a time; see the module doc for the cursor."""
        state = _read_cursor(cursor)
        watermark, high, after = state.get("watermark"), state.get("high"), state.get("after")
        cutoff = _parse_time(watermark) - self.overlap if watermark else None
        seen: set[str] = {after} if after else set()
        while True:
            connection = self._graphql(JOBS_QUERY, {"first": self.page_size, "after": after}, "list jobs")["jobs"]
            jobs, reached = [], False
            for node in connection.get("nodes") or []:
                updated = _parse_time(node.get("updatedAt"))
                if cutoff is not None and updated < cutoff:
                    reached = True
                    break
                jobs.append(self._job(self._complete(node)))
                high = max(high, node["updatedAt"], key=_parse_time) if high else node["updatedAt"]
            info = connection.get("pageInfo") or {}
            more = bool(info.get("hasNextPage")) and not reached
            if more:
                end = info.get("endCursor")
                if not end or end in seen:
                    raise FatalError(
                        f"Jobber returned the page cursor {end!r} again; stopping rather than looping",
                        system=self.name, operation="list jobs", code="repeated_cursor",
                    )
                seen.add(end)
            next_cursor = write_cursor(watermark=watermark, high=high, key="after", resume=end if more else None)
            yield SourcePage(jobs=tuple(jobs), next_cursor=next_cursor)
            if not more:
                return
            after = end

    def fetch_job(self, job_id: str) -> SourcePage:
        """One job by id (a webhook named it); a job Jobber no longer has gives an empty page. No cursor."""
        node = self._graphql(JOB_QUERY, {"id": job_id}, "read job").get("job")
        return SourcePage(jobs=(self._job(self._complete(node)),) if node else (), next_cursor=None)

    def check(self) -> str:
        """Authenticate and read the account: what ``closeout doctor`` reports."""
        account = self._graphql(ACCOUNT_QUERY, {}, "read account").get("account") or {}
        return f"Jobber account {account.get('name', '?')} (API version {self.version})"

    def _job(self, node: dict[str, Any]) -> SourceJob:
        return SourceJob(
            source=SYSTEM, stream=f"{self.name}/jobs", external_id=str(node["id"]),
            locator=f"jobber job #{node.get('jobNumber', '?')} ({node['id']})", payload=node,
        )

    def _complete(self, node: dict[str, Any]) -> dict[str, Any]:
        """Nested connections page on their own: read the rest of any that says it has more."""
        for name in NESTED:
            connection = node.get(name)
            if not isinstance(connection, dict):
                continue
            nodes = list(connection.get("nodes") or [])
            info, seen = connection.get("pageInfo") or {}, set()
            while info.get("hasNextPage"):
                end = info.get("endCursor")
                if not end or end in seen:
                    raise FatalError(f"Jobber repeated the {name} cursor {end!r} of job {node.get('id')}",
                                     system=self.name, operation=f"read {name}", code="repeated_cursor")
                seen.add(end)
                query = NESTED_QUERY.format(name=name, fields=_NESTED_FIELDS[name])
                more = (self._graphql(query, {"id": node["id"], "after": end}, f"read {name}").get("job") or {})
                page = more.get(name) or {}
                nodes.extend(page.get("nodes") or [])
                info = page.get("pageInfo") or {}
            node[name] = {"nodes": nodes}
        return node

    # -- transport ---------------------------------------------------------------------------------------

    def _graphql(self, query: str, variables: dict[str, Any], operation: str) -> dict[str, Any]:
        """``data`` of one GraphQL call; an expired token is refreshed once, every other problem is raised typed."""
        tokens = self.tokens.load()
        if not tokens.access_token:
            tokens = self._refresh(tokens)
        for attempt in (1, 2):
            body = self._post(query, variables, operation, tokens.access_token)
            if body is not None:
                return self._data(body, operation)
            if attempt == 2:
                raise AuthError("Jobber refused a freshly refreshed access token", system=self.name,
                                operation=operation, code="unauthenticated")
            tokens = self._refresh(tokens)
        raise AssertionError("unreachable")

    def _post(self, query: str, variables: dict[str, Any], operation: str, token: str) -> dict[str, Any] | None:
        """The decoded body, or None when the token was refused (HTTP 401 or UNAUTHENTICATED)."""
        headers = {"Authorization": f"Bearer {token}", "X-JOBBER-GRAPHQL-VERSION": self.version}
        try:
            response = send(self.client, "POST", f"{self.api_url}/api/graphql", system=self.name, operation=operation,
                            json={"query": query, "variables": variables}, headers=headers)
        except AuthError as exc:
            if exc.code == "http_401":
                return None
            raise
        body = read_json_object(response, system=self.name, operation=operation)
        codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or [] if isinstance(e, dict)}
        return None if "UNAUTHENTICATED" in codes else body

    def _data(self, body: dict[str, Any], operation: str) -> dict[str, Any]:
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
            raise RetriableError("query cost throttled (THROTTLED)", retry_after=throttle_wait(body),
                                 system=self.name, operation=operation, code="throttled")
        if errors:
            messages = "; ".join(str(e.get("message", "?")) for e in errors)[:300]
            raise FatalError(f"GraphQL errors: {messages} (API version {self.version})", system=self.name,
                             operation=operation, code="graphql_error")
        data = body.get("data")
        if not isinstance(data, dict):
            raise RetriableError("answered without data", system=self.name, operation=operation, code="no_data")
        return data

    def _refresh(self, tokens: TokenPair) -> TokenPair:
        """Trade the refresh token for a new pair and save the pair before anything uses it."""
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
                "client_id": self._client_id, "client_secret": self._client_secret}
        try:
            response = send(self.client, "POST", f"{self.api_url}/api/oauth/token", data=form,
                            system=self.name, operation="refresh token")
        except FatalError as exc:
            raise AuthError(
                f"the refresh token was refused ({exc.message}); reconnect the Jobber app to get a new one",
                system=self.name, operation="refresh token", code="refresh_refused",
            ) from None
        body = read_json(response, system=self.name, operation="refresh token")
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
            raise AuthError("the token endpoint answered without an access and a refresh token",
                            system=self.name, operation="refresh token", code="refresh_incomplete")
        fresh = TokenPair(access_token=body["access_token"], refresh_token=body["refresh_token"])
        self.tokens.save(fresh)
        return fresh


def throttle_wait(body: dict[str, Any]) -> float | None:
    """Seconds until the cost bucket holds the query: (requested − available) / restoreRate."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        needed = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        return max(0.0, needed / float(status["restoreRate"]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def _parse_time(text: Any) -> datetime:
    return parse_time(text, system=SYSTEM, label="Jobber", field="updatedAt")


def _read_cursor(cursor: str | None) -> dict[str, Any]:
    return read_cursor(cursor, keys={"watermark", "high", "after"}, system=SYSTEM, label="Jobber")


# ---- webhooks: Jobber signs the raw body (X-Jobber-Hmac-SHA256), names the item, dates it in occurredAt -------

WEBHOOK_JOB_TOPICS = {"JOB_CREATE", "JOB_UPDATE", "JOB_CLOSED", "JOB_DESTROY"}
"""Topics that name a job and so trigger a pull; visit and timesheet changes reach us with the job's next update.
A ``JOB_DESTROY`` pull finds no job (``fetch_job`` gives an empty page) and records the deletion
(``services.intake.pull_job``). Whether Jobber answers a destroyed job's id with ``null`` or with an error is
not documented (shared/reference/sources.md names the topic only): with an error the pull fails, is logged,
and the job stays as it was, never deleted on a guess."""


def webhook_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_is_valid(secret: str, body: bytes, headers) -> bool:
    given = headers.get("X-Jobber-Hmac-SHA256", "")
    return bool(given) and hmac.compare_digest(given, webhook_signature(secret, body))


def webhook_signed_content(body: bytes, headers) -> bytes:
    """What Jobber's signature covers, and so what names one delivery: the body alone (a header such as
    ``Api-Timestamp`` is not signed, so varying it must not make a replay look new)."""
    return body


def webhook_sent_at(body: bytes, headers) -> float | None:
    """When Jobber says the event happened (``occurredAt``, inside the signed body); None when unreadable."""
    try:
        stamp = json.loads(body)["data"]["webHookEvent"]["occurredAt"]  # RecursionError: nested past the parser
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def webhook_item(event: dict) -> tuple[str, str | None]:
    hook = event["data"]["webHookEvent"]
    topic = str(hook["topic"])
    return topic, (str(hook["itemId"]) if topic in WEBHOOK_JOB_TOPICS else None)
