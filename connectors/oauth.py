"""OAuth2 for every connection: the one token pair and vault interface, and the ledgers' (Intuit, Xero) refresh grant.

Both authorization servers take the client as HTTP Basic credentials and the form
``grant_type=refresh_token&refresh_token=…``, and answer {access_token, refresh_token, expires_in, …};
Intuit adds ``x_refresh_token_expires_in`` (ledgers.md §1.6), Xero says nothing and its unused refresh
tokens last 60 days (§2.4). Both may rotate the refresh token: the caller must save the new pair before
it uses the access token. Every httpx error and refusal is typed in ``_translate``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from connectors.errors import AuthError, ConnectorError, FatalError, RetriableError

INTUIT_DISCOVERY_URL = "https://developer.api.intuit.com/.well-known/openid_configuration"
INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
XERO_TOKEN_URL = "https://identity.xero.com/connect/token"
XERO_REFRESH_LIFETIME = timedelta(days=60)  # "Unused refresh tokens expire after 60 days" (not in the answer)

TokenProvider = Callable[[str | None], str]
"""What a ledger connector calls for its bearer token: ``provider(None)`` is a token good for a few more
minutes; ``provider(refused)`` is called once after the ledger answered 401 to ``refused`` and must return
a fresh one (or raise AuthError)."""


@dataclass(frozen=True)
class TokenPair:
    """The current credentials of one ledger connection; ``repr`` never shows a token."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime | None = None  # the access token's end; None: unknown, treat as expired
    refresh_expires_at: datetime | None = None  # the refresh token's end, when known

    def expires_within(self, margin: timedelta, now: datetime) -> bool:
        return not self.access_token or self.expires_at is None or self.expires_at - margin <= now


class TokenVault(Protocol):
    """Where a connection's current pair lives (a credential block or a 0600 file): ``load`` reads it afresh;
    ``save`` is durable when it returns, because the refresh that made the pair may have voided the old one."""

    def load(self) -> TokenPair: ...

    def save(self, pair: TokenPair) -> None: ...


def _translate(exc: Exception | None, response: httpx.Response | None, *, system: str,
               secrets: list[str]) -> ConnectorError:
    """The one place token-endpoint failures become ours: invalid_grant → AuthError, 5xx and network → retriable."""
    def scrub(text: Any) -> str:
        text = str(text or "")
        for secret in secrets:
            text = text.replace(secret, "***") if secret else text
        return text[:500]

    where = {"system": system, "operation": "refresh token"}
    if exc is not None:
        if isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
            return RetriableError(f"the token endpoint did not answer ({type(exc).__name__}): {scrub(exc)}", **where)
        return FatalError(f"the token request failed ({type(exc).__name__}): {scrub(exc)}", **where)
    assert response is not None
    status = response.status_code
    try:
        error = str(response.json().get("error") or "")
    except (ValueError, AttributeError):
        error = ""
    if status == 429 or status >= 500:
        return RetriableError(f"the token endpoint answered {status}", code=str(status), **where)
    if error in ("invalid_grant", "invalid_client", "unauthorized_client") or status in (400, 401, 403):
        return AuthError(f"the refresh was refused ({error or status}): the ledger must be connected again",
                         code=error or str(status), **where)
    if 200 <= status < 300:
        return FatalError(f"the token endpoint's answer is not a token pair: {scrub(response.text[:200])}", **where)
    return FatalError(f"the token endpoint answered {status}", code=str(status), **where)


class LedgerTokenRefresher:
    """Trades a refresh token for a new pair at one ledger's token endpoint (``refresh``); never stores anything.

    ``token_url`` is the endpoint, or ``discovery_url`` an Intuit discovery document naming it (read once,
    on the first refresh). Tests give ``client`` a respx transport or point the URLs at the sandbox.
    """

    def __init__(self, *, client: httpx.Client, system: str, client_id: str, client_secret: str,
                 token_url: str = "", discovery_url: str = "", refresh_lifetime: timedelta | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        if not (token_url or discovery_url) or not client_id or not client_secret:
            raise ValueError("a token_url or discovery_url, the client_id and the client_secret are required")
        self.client, self.system = client, system
        self._client_id, self._client_secret = client_id, client_secret
        self._token_url, self._discovery_url = token_url, discovery_url
        self._refresh_lifetime = refresh_lifetime
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"LedgerTokenRefresher(system={self.system!r}, token_url={self._token_url or self._discovery_url!r})"

    def _send(self, method: str, url: str, *, secrets: list[str], **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise _translate(exc, None, system=self.system, secrets=secrets) from None
        if response.status_code != 200:
            raise _translate(None, response, system=self.system, secrets=secrets)
        return response

    def token_url(self) -> str:
        if not self._token_url:
            document = self._send("GET", self._discovery_url, secrets=[], headers={"Accept": "application/json"})
            try:
                self._token_url = str(document.json()["token_endpoint"])
            except (ValueError, KeyError, TypeError):
                raise FatalError(f"{self._discovery_url} is not an OpenID discovery document", system=self.system,
                                 operation="refresh token") from None
        return self._token_url

    def refresh(self, refresh_token: str) -> TokenPair:
        """The new pair for ``refresh_token``; AuthError when it is refused (used, expired, revoked)."""
        secrets = [refresh_token, self._client_secret]
        response = self._send(
            "POST", self.token_url(), secrets=secrets, auth=(self._client_id, self._client_secret),
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            headers={"Accept": "application/json"})
        try:
            answer = response.json()
            access, lifetime = str(answer["access_token"]), int(answer["expires_in"])
            rotated = str(answer.get("refresh_token") or refresh_token)
        except (ValueError, KeyError, TypeError):
            raise _translate(None, response, system=self.system, secrets=secrets) from None
        now = self._clock()
        refresh_expires_at = None
        if answer.get("x_refresh_token_expires_in") is not None:
            refresh_expires_at = now + timedelta(seconds=int(answer["x_refresh_token_expires_in"]))
        elif self._refresh_lifetime is not None:
            refresh_expires_at = now + self._refresh_lifetime
        return TokenPair(access_token=access, refresh_token=rotated, expires_at=now + timedelta(seconds=lifetime),
                         refresh_expires_at=refresh_expires_at)
