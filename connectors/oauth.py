"""OAuth2 for every connection: token pair and vault, the code grant, refresh, revocation and the first call.

The refresh grant: Intuit and Xero take the client as HTTP Basic credentials and the form
``grant_type=refresh_token&refresh_token=…``, and answer {access_token, refresh_token, expires_in, …};
Intuit adds ``x_refresh_token_expires_in`` (ledgers.md §1.6), Xero says nothing and its unused refresh
tokens last 60 days (§2.4). Both may rotate the refresh token: the caller must save the new pair before
it uses the access token.

The authorization-code grant (``OAuthApp``): the authorize URL with ``state`` (and a PKCE S256 challenge
where the provider documents PKCE: Xero), the code traded at the token endpoint with the same redirect_uri
(RFC 6749 §4.1.3), Xero's ``/connections``, and revocation: Intuit's JSON ``{"token"}`` with Basic
credentials (intuitlib ``AuthClient.revoke``), Xero's form ``token=`` (RFC 7009), Jobber's ``appDisconnect``
GraphQL mutation (developer.getjobber.com/docs/building_your_app/app_lifecycle). ``first_call`` is one cheap
read that proves new tokens work (QBO CompanyInfo, Xero Organisation). Every httpx error and refusal is typed
in ``_translate``; no message carries a token, a code or a client secret.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

import httpx

from connectors.errors import AuthError, ConnectorError, FatalError, RetriableError, certificate_error

INTUIT_DISCOVERY_URL = "https://developer.api.intuit.com/.well-known/openid_configuration"
INTUIT_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
INTUIT_REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
INTUIT_SCOPE = "com.intuit.quickbooks.accounting"
XERO_AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
XERO_TOKEN_URL = "https://identity.xero.com/connect/token"
XERO_CONNECTIONS_URL = "https://api.xero.com/connections"
XERO_REVOCATION_URL = "https://identity.xero.com/connect/revocation"
# Apps created from 2026-03-02 get Xero's granular scopes only (accounting.transactions is gone for them); what
# Closeout calls: invoices and credit notes (accounting.invoices), contacts, items/tax rates/accounts/tracking/
# organisation (accounting.settings.read), attachments; offline_access is what gives a refresh token.
XERO_SCOPE = "offline_access accounting.invoices accounting.contacts accounting.settings.read accounting.attachments"
XERO_REFRESH_LIFETIME = timedelta(days=60)  # "Unused refresh tokens expire after 60 days" (not in the answer)
JOBBER_AUTHORIZE_PATH = "/api/oauth/authorize"  # under the API root (sources.md §1 [2])
JOBBER_TOKEN_PATH = "/api/oauth/token"
JOBBER_DISCONNECT = "mutation AppDisconnect { appDisconnect { app { name } userErrors { message } } }"

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


# What a refusal (invalid_grant, 400/401/403) means, per operation: the message the user reads.
_REFUSED = {
    "refresh token": "the refresh was refused ({error}): the ledger must be connected again",
    "exchange code": "the authorization code was refused ({error}): it was used already, has expired, or was "
                     "given for another app or redirect URI; run `closeout connect` again",
    "revoke token": "the revocation was refused ({error}): the app's client id or secret is not the one the "
                    "tokens were issued to",
    "list connections": "the new access token was refused ({error}) when listing the organisations",
    "read company": "the ledger refused the new access token ({error})",
    "disconnect": "Jobber refused the access token ({error})",
}


def _translate(exc: Exception | None, response: httpx.Response | None, *, system: str,
               secrets: list[str], operation: str = "refresh token") -> ConnectorError:
    """The one place authorization-server and first-call failures become ours: a refusal → AuthError, 5xx and
    network → retriable, anything else fatal."""
    def scrub(text: Any) -> str:
        text = str(text or "")
        for secret in secrets:
            text = text.replace(secret, "***") if secret else text
        return text[:500]

    where = {"system": system, "operation": operation}
    if exc is not None:
        if (refused := certificate_error(exc)) is not None:  # no retry mends a certificate (ca_file does)
            return FatalError(f"TLS certificate does not verify: {refused.verify_message}", code="tls", **where)
        if isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
            return RetriableError(f"{exc.request.url.host if _has_request(exc) else 'the server'} did not answer "
                                  f"({type(exc).__name__})", **where)
        return FatalError(f"the request failed ({type(exc).__name__}): {scrub(exc)}", **where)
    assert response is not None
    status = response.status_code
    try:
        body = response.json()
        error = str(body.get("error") or "") if isinstance(body, dict) else ""
    except ValueError:
        error = ""
    if status == 429 or status >= 500:
        return RetriableError(f"{response.url.host} answered {status}", code=str(status), **where)
    if error in ("invalid_grant", "invalid_client", "unauthorized_client") or status in (400, 401, 403):
        return AuthError(_REFUSED.get(operation, "refused ({error})").format(error=error or status),
                         code=error or str(status), **where)
    if 200 <= status < 300:
        return FatalError(f"the answer is not what {operation} expects: {scrub(response.text[:200])}", **where)
    return FatalError(f"{response.url.host} answered {status}", code=str(status), **where)


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when the error has no request
    except RuntimeError:
        return False
    return True


def _send(client: httpx.Client, method: str, url: str, *, system: str, operation: str, secrets: list[str],
          ok: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise _translate(exc, None, system=system, secrets=secrets, operation=operation) from None
    if response.status_code not in ok:
        raise _translate(None, response, system=system, secrets=secrets, operation=operation)
    return response


def _pair_from(answer: Any, *, now: datetime, refresh_lifetime: timedelta | None,
               previous_refresh: str = "") -> TokenPair:
    """The pair in a token endpoint's answer; KeyError/TypeError/ValueError when it is not one."""
    access, lifetime = str(answer["access_token"]), int(answer.get("expires_in") or 3600)
    refresh = str(answer.get("refresh_token") or previous_refresh)
    refresh_expires_at = None
    if answer.get("x_refresh_token_expires_in") is not None:
        refresh_expires_at = now + timedelta(seconds=int(answer["x_refresh_token_expires_in"]))
    elif refresh_lifetime is not None:
        refresh_expires_at = now + refresh_lifetime
    return TokenPair(access_token=access, refresh_token=refresh, expires_at=now + timedelta(seconds=lifetime),
                     refresh_expires_at=refresh_expires_at)


def discover(client: httpx.Client, url: str, *, system: str) -> dict[str, Any]:
    """An OpenID discovery document (Intuit's names its authorize, token and revocation endpoints)."""
    document = _send(client, "GET", url, system=system, operation="discover endpoints", secrets=[],
                     headers={"Accept": "application/json"})
    try:
        found = document.json()
        if not isinstance(found, dict) or "token_endpoint" not in found:
            raise ValueError(url)
    except ValueError:
        raise FatalError(f"{url} is not an OpenID discovery document", system=system,
                         operation="discover endpoints") from None
    return found


class LedgerTokenRefresher:
    """Trades a refresh token for a new pair at one ledger's token endpoint (``refresh``); never stores anything.

    ``token_url`` is the endpoint, or ``discovery_url`` an Intuit discovery document naming it (read once,
    on the first refresh). Tests give ``client`` a respx transport or point the URLs at the sandbox.
    ``scope`` is sent with every refresh when given (Microsoft's identity platform wants it there too);
    ``client_in_form`` sends the client as client_id/client_secret form fields instead of HTTP Basic.
    """

    def __init__(self, *, client: httpx.Client, system: str, client_id: str, client_secret: str,
                 token_url: str = "", discovery_url: str = "", refresh_lifetime: timedelta | None = None,
                 clock: Callable[[], datetime] | None = None, scope: str = "", client_in_form: bool = False) -> None:
        if not (token_url or discovery_url) or not client_id or not client_secret:
            raise ValueError("a token_url or discovery_url, the client_id and the client_secret are required")
        self.client, self.system = client, system
        self._client_id, self._client_secret = client_id, client_secret
        self._token_url, self._discovery_url = token_url, discovery_url
        self._refresh_lifetime = refresh_lifetime
        self._clock = clock or (lambda: datetime.now(UTC))
        self._scope, self._client_in_form = scope, client_in_form

    def __repr__(self) -> str:
        return f"LedgerTokenRefresher(system={self.system!r}, token_url={self._token_url or self._discovery_url!r})"

    def token_url(self) -> str:
        if not self._token_url:
            self._token_url = str(discover(self.client, self._discovery_url, system=self.system)["token_endpoint"])
        return self._token_url

    def refresh(self, refresh_token: str) -> TokenPair:
        """The new pair for ``refresh_token``; AuthError when it is refused (used, expired, revoked)."""
        secrets_ = [refresh_token, self._client_secret]
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self._scope:
            form["scope"] = self._scope
        client: dict[str, Any] = {"auth": (self._client_id, self._client_secret)}
        if self._client_in_form:
            form.update(client_id=self._client_id, client_secret=self._client_secret)
            client = {}
        response = _send(self.client, "POST", self.token_url(), system=self.system, operation="refresh token",
                         secrets=secrets_, data=form, headers={"Accept": "application/json"}, **client)
        try:
            return _pair_from(response.json(), now=self._clock(), refresh_lifetime=self._refresh_lifetime,
                              previous_refresh=refresh_token)
        except (ValueError, KeyError, TypeError):
            raise _translate(None, response, system=self.system, secrets=secrets_) from None


@dataclass(frozen=True)
class AuthorizationServer:
    """One provider's endpoints for the authorization-code flow, and how it wants the client to authenticate."""

    system: str  # "quickbooks", "xero", "jobber": errors name it
    authorize_url: str
    token_url: str
    scope: str = ""  # space-separated; "" sends none (Jobber: the scopes are the app's, set in its Developer Center)
    pkce: bool = False  # send an S256 challenge (only where the provider documents PKCE)
    client_in_form: bool = False  # client_id/client_secret in the form (Jobber), else HTTP Basic (Intuit, Xero)
    revoke_url: str = ""
    revoke_as_json: bool = False  # Intuit: {"token": …} as JSON (intuitlib AuthClient.revoke); else a form
    connections_url: str = ""  # Xero: the organisations the consent connected
    refresh_lifetime: timedelta | None = None  # when the answer does not say (Xero: 60 days unused)


def new_pkce() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636 §4.1-4.2: 43-128 unreserved characters, then
    BASE64URL(SHA256(verifier)) without padding."""
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


class OAuthApp:
    """One registered app (client id and secret) at one authorization server: code grant, connections, revocation."""

    def __init__(self, server: AuthorizationServer, *, client: httpx.Client, client_id: str, client_secret: str,
                 clock: Callable[[], datetime] | None = None) -> None:
        if not client_id or not client_secret:
            raise ValueError("the client_id and the client_secret are required")
        self.server, self.client = server, client
        self._client_id, self._client_secret = client_id, client_secret
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"OAuthApp(system={self.server.system!r}, authorize_url={self.server.authorize_url!r})"

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str | None = None) -> str:
        """Where the person approves (RFC 6749 §4.1.1): response_type=code, client_id, redirect_uri, scope, state."""
        params = {"response_type": "code", "client_id": self._client_id, "redirect_uri": redirect_uri}
        if self.server.scope:
            params["scope"] = self.server.scope
        params["state"] = state
        if code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        separator = "&" if "?" in self.server.authorize_url else "?"
        return f"{self.server.authorize_url}{separator}{urlencode(params)}"

    def _client_auth(self, form: dict[str, str]) -> dict[str, Any]:
        if self.server.client_in_form:
            return {"data": {**form, "client_id": self._client_id, "client_secret": self._client_secret}}
        return {"data": form, "auth": (self._client_id, self._client_secret)}

    def exchange(self, code: str, *, redirect_uri: str, code_verifier: str | None = None) -> TokenPair:
        """The first pair for ``code``; AuthError (invalid_grant) when the server refuses the code."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        secrets_ = [code, self._client_secret, code_verifier or ""]
        response = _send(self.client, "POST", self.server.token_url, system=self.server.system,
                         operation="exchange code", secrets=secrets_, headers={"Accept": "application/json"},
                         **self._client_auth(form))
        try:
            pair = _pair_from(response.json(), now=self._clock(), refresh_lifetime=self.server.refresh_lifetime)
        except (ValueError, KeyError, TypeError):
            raise _translate(None, response, system=self.server.system, secrets=secrets_,
                             operation="exchange code") from None
        if not pair.refresh_token:
            raise FatalError("the token endpoint gave no refresh token: the app must ask for offline access "
                             "(Xero: the offline_access scope)", system=self.server.system, operation="exchange code")
        return pair

    def connections(self, access_token: str) -> list[dict[str, str]]:
        """Xero's ``GET /connections``: [{tenantId, tenantName, tenantType, …}] the token may use."""
        response = _send(self.client, "GET", self.server.connections_url, system=self.server.system,
                         operation="list connections", secrets=[access_token],
                         headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})
        try:
            found = response.json()
            return [{key: str(value) for key, value in item.items()} for item in found if isinstance(item, dict)]
        except (ValueError, TypeError, AttributeError):
            raise _translate(None, response, system=self.server.system, secrets=[access_token],
                             operation="list connections") from None

    def revoke(self, token: str) -> bool:
        """Revoke ``token`` (and with it the connection) at the revocation endpoint: True when the server took
        it, False when it said the token was no longer valid (400 invalid_grant/invalid_token: nothing to end)."""
        body: dict[str, Any] = ({"json": {"token": token}} if self.server.revoke_as_json
                                else {"data": {"token": token}})
        if self.server.client_in_form:
            raise ValueError(f"{self.server.system} revokes through its API, not a revocation endpoint")
        try:
            _send(self.client, "POST", self.server.revoke_url, system=self.server.system, operation="revoke token",
                  secrets=[token, self._client_secret], auth=(self._client_id, self._client_secret),
                  headers={"Accept": "application/json"}, **body)
        except AuthError as exc:
            if exc.code in ("invalid_grant", "invalid_token"):
                return False
            raise
        return True


def first_call(client: httpx.Client, *, kind: Literal["quickbooks", "xero"], api_url: str, company_ref: str,
               access_token: str) -> str:
    """One cheap read proving an access token works for that company: its name. ``api_url`` is the connector's
    root (QBO ``…/v3``, Xero ``…/api.xro/2.0``); ``company_ref`` the realm or tenant id."""
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    if kind == "quickbooks":  # Intuit's CompanyInfo reference: GET /v3/company/{realmId}/companyinfo/{realmId}
        url, operation = f"{api_url}/company/{company_ref}/companyinfo/{company_ref}", "read company"
    else:  # GET /api.xro/2.0/Organisation with the xero-tenant-id header (the Accounting API's Organisation)
        url, operation = f"{api_url}/Organisation", "read company"
        headers["xero-tenant-id"] = company_ref
    response = _send(client, "GET", url, system=kind, operation=operation, secrets=[access_token], headers=headers)
    try:
        body = response.json()
        return str(body["CompanyInfo"]["CompanyName"] if kind == "quickbooks" else body["Organisations"][0]["Name"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise _translate(None, response, system=kind, secrets=[access_token], operation=operation) from None


def jobber_disconnect(client: httpx.Client, *, api_url: str, version: str, access_token: str,
                      system: str = "jobber") -> None:
    """Jobber's ``appDisconnect`` mutation with the connection's access token: every token of it stops working."""
    response = _send(client, "POST", f"{api_url}/api/graphql", system=system, operation="disconnect",
                     secrets=[access_token], json={"query": JOBBER_DISCONNECT},
                     headers={"Authorization": f"Bearer {access_token}", "X-JOBBER-GRAPHQL-VERSION": version})
    try:
        body = response.json()
        result = (body.get("data") or {}).get("appDisconnect") or {}
        problems = [str(item.get("message")) for item in result.get("userErrors") or []] + [
            str(item.get("message")) for item in body.get("errors") or []]
    except (ValueError, AttributeError, TypeError):
        raise _translate(None, response, system=system, secrets=[access_token], operation="disconnect") from None
    if problems or not result:
        raise FatalError(f"Jobber did not disconnect the app: {'; '.join(problems) or 'no answer'}"[:300],
                         system=system, operation="disconnect")
