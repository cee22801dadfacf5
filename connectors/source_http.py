"""What every API source shares: one function that turns httpx outcomes into our typed errors, and JSON reading.

The rule, once for all sources (DESIGN.md invariant 4):

* timeouts, dropped connections, HTTP 429 and 5xx → ``RetriableError`` (``retry_after`` from ``Retry-After``)
* HTTP 401 / 403 → ``AuthError``
* any other 4xx, and a TLS certificate that does not verify → ``FatalError`` (retrying cannot help)
* a body that is not JSON → ``RetriableError`` with code ``malformed_json`` (a proxy's HTML page, a cut-off body)

Connectors never retry here: retries belong to the Prefect task that calls them.
Messages carry the status and the API's own error text, never a header, a token or the request body.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from typing import Any

import httpx

from connectors.errors import AuthError, ConnectorError, FatalError, RejectedError, RetriableError, certificate_error
from connectors.source_paging import SourceJob, SourcePage

__all__ = ["SourceJob", "SourcePage", "api_message", "read_json", "read_json_object", "retry_after", "send",
           "translate_error", "verify_for"]  # SourceJob/SourcePage stay importable from here (services.replay)

EXCERPT = 300


def verify_for(ca_file: str | None) -> ssl.SSLContext | bool:
    """What an API source's ``httpx.Client(verify=...)`` gets: certificates are always verified.

    With ``ca_file`` (a private CA, PEM) an SSL context that trusts exactly that bundle, so the setting works
    whatever the environment says; without it ``True``: httpx's default (certifi, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` when the client trusts the environment). Never ``False``.
    """
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


def translate_error(
    *, system: str, operation: str, exc: Exception | None = None, response: httpx.Response | None = None,
    missing_is_rejected: bool = False,
) -> ConnectorError:
    """The one place an httpx exception or an unwanted response becomes a ``ConnectorError``.

    ``missing_is_rejected``: a 404 for a single record (a job a webhook named) is that record's problem,
    not the run's, so it becomes ``RejectedError``.
    """
    where = {"system": system, "operation": operation}
    if exc is not None:
        if isinstance(exc, httpx.TimeoutException):
            return RetriableError(f"timed out ({type(exc).__name__})", code="timeout", **where)
        if (refused := certificate_error(exc)) is not None:  # no retry mends a certificate: say so once
            return FatalError(f"TLS certificate does not verify: {refused.verify_message}", code="tls", **where)
        if isinstance(exc, httpx.TransportError):
            return RetriableError(f"connection failed ({type(exc).__name__})", code="transport", **where)
        return FatalError(f"unexpected {type(exc).__name__}", code="unexpected", **where)
    assert response is not None
    status, text = response.status_code, api_message(response)
    if status == 429:
        return RetriableError(
            f"rate limited (HTTP 429){': ' + text if text else ''}", retry_after=retry_after(response),
            code="rate_limited", **where,
        )
    if status >= 500:
        return RetriableError(f"server error HTTP {status}{': ' + text if text else ''}", code=f"http_{status}", **where)
    if status in (401, 403):
        return AuthError(f"credentials refused (HTTP {status}){': ' + text if text else ''}", code=f"http_{status}", **where)
    if status == 404 and missing_is_rejected:
        return RejectedError(f"not found (HTTP 404){': ' + text if text else ''}", code="not_found", **where)
    return FatalError(f"request refused (HTTP {status}){': ' + text if text else ''}", code=f"http_{status}", **where)


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def api_message(response: httpx.Response) -> str:
    """The API's own words about the error (RFC 7807 title/detail, ``message``, ``error``), shortened."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(body, Mapping):
        return ""
    parts = [str(body[key]) for key in ("title", "detail", "message", "error", "error_description") if body.get(key)]
    return "; ".join(parts)[:EXCERPT]


def send(
    client: httpx.Client, method: str, url: str, *, system: str, operation: str, missing_is_rejected: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; return the 2xx response or raise the translated error."""
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise translate_error(system=system, operation=operation, exc=exc) from None
    if not response.is_success:
        raise translate_error(
            system=system, operation=operation, response=response, missing_is_rejected=missing_is_rejected
        )
    return response


def read_json(response: httpx.Response, *, system: str, operation: str) -> Any:
    """The body as JSON; a body that is not JSON is retriable (it is almost always a proxy's page or a cut-off)."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise RetriableError(
            f"answered HTTP {response.status_code} with a body that is not JSON "
            f"({len(response.content)} bytes, content-type {response.headers.get('content-type', '?')!r})",
            code="malformed_json", system=system, operation=operation,
        ) from None


def read_json_object(response: httpx.Response, *, system: str, operation: str) -> dict[str, Any]:
    """The body as a JSON object; not JSON, or JSON that is not an object, is ``RetriableError`` ``malformed_json``."""
    body = read_json(response, system=system, operation=operation)
    if not isinstance(body, dict):
        raise RetriableError("answered with JSON that is not an object", system=system, operation=operation,
                             code="malformed_json")
    return body
