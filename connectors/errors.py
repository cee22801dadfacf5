"""The typed errors every connector raises, decided once at the boundary.

    ConnectorError            system, operation; never carries a secret
    ├── RetriableError        timeouts, dropped connections, 429, 5xx: Prefect retries the task
    │                         (retry_after says how long the other side asked us to wait)
    ├── FatalError            misconfiguration, an unexpected 4xx: stop loudly
    │   └── AuthError         401/403, a refused login or token: stop loudly, open a case
    └── RejectedError         the other side refused *this* record: it becomes a case, the run goes on
"""

from __future__ import annotations

import ssl


class ConnectorError(Exception):
    def __init__(self, message: str, *, system: str, operation: str = "", code: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.operation = operation
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        where = f"{self.system} {self.operation}".strip()
        return f"{where}: {self.message}" if where else self.message


class RetriableError(ConnectorError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: str) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class FatalError(ConnectorError):
    pass


class AuthError(FatalError):
    pass


class RejectedError(ConnectorError):
    pass


class UncertainOutcomeError(RetriableError):
    """The request may or may not have taken effect (timeout, reset after sending): look before resending."""


def certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate refusal behind a client library's error, if that is what it is; else None.

    httpx, requests and urllib3 each wrap it differently (cause/context chain, ``MaxRetryError.reason``, the
    first argument of requests' ``SSLError``), so the translators look here rather than parse messages: a
    certificate that does not verify is a ``FatalError`` code ``tls`` with OpenSSL's reason, the same words
    for every connector (no retry mends it; a private CA is ``ca_file`` / ``$CLOSEOUT_CA_FILE``).
    """
    pending, seen = [exc], set()
    while pending and len(seen) < 32:
        current = pending.pop()
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        if id(current) in seen:
            continue
        seen.add(id(current))
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        pending += [item for item in linked if isinstance(item, BaseException)]
    return None
