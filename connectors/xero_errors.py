"""How Xero answers become Closeout's typed errors: the one translation function of the Xero connector."""

from __future__ import annotations

from typing import Any

import urllib3
from xero_python.exceptions import (AccountingBadRequestException, ApiException, ApiSSLException,
                                    HTTPStatusException, RateLimitException)

from connectors.errors import (AuthError, ConnectorError, FatalError, RejectedError, RetriableError,
                               UncertainOutcomeError, certificate_error)

SYSTEM = "xero"
DEFAULT_RETRY_AFTER = 60.0  # Xero's minute limit, when a 429 comes without Retry-After
NOT_FOUND = "404"
"""The code of the FatalError for a 404: Xero has no document of that id (readers turn it into None)."""


def _scrub(text: Any, secret: str) -> str:
    text = str(text or "")
    return (text.replace(secret, "***") if secret else text)[:1000]


def _error_message(exc: AccountingBadRequestException) -> tuple[str, str]:
    try:
        data = exc.error_data  # xero-python 15.2.0 gives the parsed JSON body: a dict, not a model
    except ValueError:
        data = {}
    if isinstance(data, dict):
        message = str(data.get("Message") or "Xero refused the request")
        details = [str(v.get("Message")) for element in data.get("Elements") or []
                   for v in element.get("ValidationErrors") or [] if isinstance(v, dict)]
        return (details[0] if details else message), "; ".join(details)
    message = str(getattr(data, "message", None) or "Xero refused the request")
    details = []
    for element in getattr(data, "elements", None) or []:
        details += [str(v.message) for v in (getattr(element, "validation_errors", None) or [])]
    return (details[0] if details else message), "; ".join(details)


def translate_xero_error(exc: Exception, *, operation: str, creating: bool = False, secret: str = "") -> ConnectorError:
    """The one place SDK and urllib3 errors become ours; ``creating`` marks a write (an invoice or credit note
    create, an update, a void, an allocation), where an unanswered or 5xx request may still have taken effect
    (UncertainOutcomeError). A validation refusal (400 ValidationException) is a RejectedError with Xero's first
    element message, every message in ``detail``."""
    where = {"system": SYSTEM, "operation": operation}
    unanswered = UncertainOutcomeError if creating else RetriableError
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
        return RetriableError(f"cannot connect: {_scrub(exc, secret)}", **where)
    if (refused := certificate_error(exc)) is not None:  # no retry mends a certificate: say so once
        return FatalError(f"TLS certificate does not verify: {refused.verify_message}", code="tls", **where)
    if isinstance(exc, (ApiSSLException, urllib3.exceptions.SSLError)):
        return FatalError(f"TLS failure: {_scrub(exc, secret)}", code="tls", **where)
    if isinstance(exc, (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ProtocolError,
                        urllib3.exceptions.TimeoutError)):
        return unanswered(f"no answer ({type(exc).__name__}): {_scrub(exc, secret)}", **where)
    if isinstance(exc, RateLimitException):
        wait = exc.headers.get("Retry-After") if exc.headers else None
        problem = exc.headers.get("X-Rate-Limit-Problem", "") if exc.headers else ""
        return RetriableError(f"Xero rate limit reached ({problem or 'unknown'})", code=f"rate_limit_{problem}".rstrip("_"),
                              retry_after=float(wait) if wait else DEFAULT_RETRY_AFTER, **where)
    if isinstance(exc, AccountingBadRequestException):
        message, detail = _error_message(exc)
        return RejectedError(_scrub(message, secret), code="validation_error", detail=_scrub(detail, secret), **where)
    if isinstance(exc, HTTPStatusException):
        body = _scrub(exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else exc.body, secret)
        if exc.status in (401, 403):
            return AuthError(f"Xero refused the credentials ({exc.status})", code=str(exc.status), detail=body, **where)
        if exc.status >= 500:
            return unanswered(f"Xero server error ({exc.status})", code=str(exc.status), detail=body, **where)
        return FatalError(f"unexpected answer ({exc.status})", code=str(exc.status), detail=body, **where)
    if isinstance(exc, ApiException):
        return FatalError(f"request failed: {_scrub(exc, secret)}", **where)
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return unanswered(f"no answer ({type(exc).__name__}): {_scrub(exc, secret)}", **where)
    kind = UncertainOutcomeError if creating else FatalError
    return kind(f"unexpected {type(exc).__name__}: {_scrub(exc, secret)}", **where)
