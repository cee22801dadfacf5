"""``closeout connect`` and ``disconnect``: the OAuth2 authorization-code flow, into the vault the refresher reads.

``resolve`` finds a company's connection the way the runs do: the ledger's client id and secret, vault and
refresh lock from ``closeout.credentials.ledger_tokens.ledger_access`` (the refresher's own), Jobber's from the
source connector the pulls build (``App.source_for``: its workspace token file). The endpoints follow the
config as the API roots do: ``api_url = "sandbox"`` is Closeout's local imitation (its authorize, token and
revocation endpoints under the sandbox's URL, at the real paths); anything else is the real provider (Intuit's
discovery document, Xero's identity endpoints, Jobber's under the source's ``api_url``).

``connect`` then: binds the listener (a taken port fails before anything else), prints the authorize URL
with a fresh ``state`` (and a PKCE S256 challenge for Xero, the one of the three that documents PKCE:
developer.xero.com/documentation/oauth2/pkce-flow; Intuit's OAuth 2.0 guide and its own intuitlib send none,
and Jobber's authorization guide describes the client-secret flow only, sources.md §1 [1]), opens a browser
if asked, takes one callback, checks ``state`` before anything else, checks QBO's ``realmId`` against the
config, trades the code, picks Xero's organisation from ``/connections`` and checks it against the config,
saves the pair under the refresh lock, and makes the first cheap call with the stored tokens. Nothing is
stored unless every check passed. Every failure is a ``ConnectorError`` (one line in the CLI); none names a
token, a code or the client secret.

The flow's two halves are public, ``authorization_for`` (the request: ``state``, PKCE, the URL) and ``complete``
(everything after the callback), so the web UI's Connections page (``closeout.credentials.web_connect``) runs the
very same flow with its own callback route in place of the listener.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from closeout.credentials.callback import CallbackListener, ListenerError
from closeout.credentials.ledger_tokens import ledger_access, ledger_token_provider, token_client
from closeout.credentials.lookup import read_secret
from closeout.credentials.vaults import BlockTokenVault, FileTokenVault
from closeout.tls import ca_file_for
from closeout.wiring import App
from connectors.errors import AuthError, ConnectorError
from connectors.jobber import JobberSource
from connectors.source_http import verify_for
from connectors.oauth import (INTUIT_AUTHORIZE_URL, INTUIT_DISCOVERY_URL, INTUIT_REVOKE_URL, INTUIT_SCOPE,
                              JOBBER_AUTHORIZE_PATH, JOBBER_TOKEN_PATH, XERO_AUTHORIZE_URL, XERO_CONNECTIONS_URL,
                              XERO_REFRESH_LIFETIME, XERO_REVOCATION_URL, XERO_SCOPE, AuthorizationServer, OAuthApp,
                              TokenPair, discover, first_call, jobber_disconnect, new_pkce)
from services.config import CompanyConfig, ConfigError, JobberSourceConfig

TARGETS = ("quickbooks", "xero", "jobber")
DEFAULT_PORT = 8770
CALLBACK_PATH = "/callback"
DEFAULT_TIMEOUT = 300.0
PROVIDER = {"quickbooks": "Intuit", "xero": "Xero", "jobber": "Jobber"}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")


class ConnectError(ConnectorError):
    """The flow itself failed (the answer's state, a denial, the wrong company, the listener): nothing was stored."""

    def __init__(self, message: str, *, system: str, code: str = "") -> None:
        super().__init__(message, system=system, operation="connect", code=code)


@dataclass
class Target:
    """One company's connection to a ledger or to Jobber: the app, where its tokens live, and the proving call."""

    system: str  # quickbooks | xero | jobber
    company: CompanyConfig
    app: OAuthApp
    vault: FileTokenVault | BlockTokenVault
    lock: Callable[[], AbstractContextManager]
    prove: Callable[[], str]  # one line naming what the stored tokens reach
    jobber: JobberSource | None = None
    jobber_config: JobberSourceConfig | None = None

    @property
    def provider(self) -> str:
        return PROVIDER[self.system]


def resolve(app: App, system: str, company_id: str, *, source: str | None = None, scope: str | None = None,
            client: httpx.Client | None = None) -> Target:
    """The connection ``system`` of company ``company_id`` as the runs use it (see the module docstring)."""
    if system not in TARGETS:
        raise ConfigError(f"closeout connects {', '.join(TARGETS)}, not {system!r}")
    company = app.config.company(company_id)
    if system == "jobber":
        return _jobber_target(app, company, source, client)
    ledger = company.ledger
    if ledger.kind != system:
        raise ConfigError(f"company {company.id!r} keeps its books in {ledger.kind}, not {system}")
    if ledger.uses_sandbox and not app.sandbox_url:
        raise ConfigError("the ledger sandbox is not running")
    client = client or token_client(company)
    access = ledger_access(company, home=app.home, store=app.store, sandbox_url=app.sandbox_url, client=client,
                           connecting=True)
    base = app.sandbox_url or ""
    if system == "quickbooks":
        document = discover(client, access.discovery_url or (f"{base}/.well-known/openid_configuration"
                                                              if ledger.uses_sandbox else INTUIT_DISCOVERY_URL),
                            system=system)
        server = AuthorizationServer(
            system=system, authorize_url=str(document.get("authorization_endpoint") or INTUIT_AUTHORIZE_URL),
            token_url=access.token_url or str(document["token_endpoint"]), scope=scope or INTUIT_SCOPE,
            revoke_url=str(document.get("revocation_endpoint") or INTUIT_REVOKE_URL), revoke_as_json=True)
        api_url, ref = (f"{base}/v3" if ledger.uses_sandbox else ledger.api_url), ledger.realm_id
    else:
        sandbox = ledger.uses_sandbox
        server = AuthorizationServer(
            system=system, authorize_url=f"{base}/identity/connect/authorize" if sandbox else XERO_AUTHORIZE_URL,
            token_url=access.token_url, scope=scope or XERO_SCOPE, pkce=True,
            revoke_url=f"{base}/connect/revocation" if sandbox else XERO_REVOCATION_URL,
            connections_url=f"{base}/connections" if sandbox else XERO_CONNECTIONS_URL,
            refresh_lifetime=XERO_REFRESH_LIFETIME)
        api_url, ref = (f"{base}/api.xro/2.0" if sandbox else ledger.api_url), ledger.tenant_id
    oauth = OAuthApp(server, client=client, client_id=access.client_id, client_secret=access.client_secret)

    def prove() -> str:
        tokens = ledger_token_provider(company, home=app.home, store=app.store, sandbox_url=app.sandbox_url,
                                       client=client)  # the refresher's own view of the vault: proves the store
        name = first_call(client, kind=system, api_url=api_url, company_ref=ref, access_token=tokens(None))
        what = f"QuickBooks Online company {name!r} (realm {ref})" if system == "quickbooks" else \
            f"Xero organisation {name!r} (tenant {ref})"
        return f"connected {company.id} to {what}; tokens kept in {access.vault.describe()}"

    return Target(system=system, company=company, app=oauth, vault=access.vault, lock=access.lock, prove=prove)


def _jobber_target(app: App, company: CompanyConfig, name: str | None, client: httpx.Client | None) -> Target:
    sources = [s for s in company.sources if isinstance(s, JobberSourceConfig) and name in (None, s.name)]
    if len(sources) != 1:
        named = f"no Jobber source named {name!r}" if name else (
            "no Jobber source" if not sources else "several Jobber sources: pass --source NAME")
        raise ConfigError(f"company {company.id!r} has {named}")
    config = sources[0]
    connector: JobberSource = app.source_for(config, company)  # the pulls' own connector and token file
    client_id = read_secret(f"{config.name}-client-id", company.id, system=config.kind)
    client_secret = read_secret(f"{config.name}-client-secret", company.id, system=config.kind)
    server = AuthorizationServer(system="jobber", authorize_url=f"{config.api_url}{JOBBER_AUTHORIZE_PATH}",
                                 token_url=f"{config.api_url}{JOBBER_TOKEN_PATH}", client_in_form=True)
    client = client or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0),
                                    verify=verify_for(ca_file_for(config.ca_file)))  # as the source's own client
    oauth = OAuthApp(server, client=client, client_id=client_id, client_secret=client_secret)
    vault = connector.tokens
    if not isinstance(vault, FileTokenVault):  # the connector's own vault is the one connect must fill
        raise ConfigError(f"source {config.name!r} keeps its tokens where `closeout connect` cannot write them")

    def prove() -> str:
        return f"connected {company.id} to {connector.check()}; tokens kept in {vault.describe()}"

    # The Jobber connector refreshes without a lock (its file vault renames atomically): so does connect.
    return Target(system="jobber", company=company, app=oauth, vault=vault, lock=nullcontext, prove=prove,
                  jobber=connector, jobber_config=config)


def redirect_for(port: int | None, redirect_uri: str | None) -> tuple[int, str]:
    """(listener port, redirect URI). The URI defaults to ``http://localhost:<port>/callback``: Intuit (for
    development keys) and Xero accept http only for localhost (their redirect URI guides); a loopback URI
    with a port decides the listener's port, and ``port`` must agree with it."""
    if not redirect_uri:
        chosen = port or DEFAULT_PORT
        return chosen, f"http://localhost:{chosen}{CALLBACK_PATH}"
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--redirect-uri must be an absolute http(s) URL, not {redirect_uri!r}")
    if parts.hostname in LOOPBACK_HOSTS and parts.port is not None:
        if port is not None and port != parts.port:
            raise ConfigError(f"--port {port} and the redirect URI's port {parts.port} differ: the browser would "
                              "be sent where nobody listens")
        return parts.port, redirect_uri
    return port or DEFAULT_PORT, redirect_uri  # a proxy (https) forwards to the local listener's port


def connect(target: Target, *, port: int | None = None, redirect_uri: str | None = None,
            open_browser: Callable[[str], object] | None = None, tenant: str | None = None,
            choose_tenant: Callable[[list[tuple[str, str]]], str] | None = None, timeout: float = DEFAULT_TIMEOUT,
            say: Callable[[str], None] = print, hint: str | None = None) -> str:
    """Run the flow for ``target`` (module docstring) and return the first call's one line.

    ``open_browser(url)`` runs in a thread while the listener waits (``webbrowser.open``, or a test's
    approving "browser"); ``hint`` is said after the address; ``choose_tenant`` picks one of several Xero
    organisations ([(id, name)] → id)."""
    listen_port, redirect = redirect_for(port, redirect_uri)
    try:
        listener = CallbackListener(listen_port, urlsplit(redirect).path or "/")
    except ListenerError as exc:
        raise ConnectError(str(exc), system=target.system, code="port_taken") from None
    try:
        request = authorization_for(target, redirect)
        say(f"Approve Closeout's access to {target.company.id}'s {target.system} at {target.provider} "
            f"(redirect URI {redirect}, waiting {timeout:.0f} s):")
        say(request.url)
        if hint:
            say(hint)
        if open_browser is not None:
            threading.Thread(target=open_browser, args=(request.url,), name="closeout-connect-browser",
                             daemon=True).start()
        answer = listener.wait(timeout)
    finally:
        listener.close()
    if answer is None:
        raise ConnectError(f"no answer from {target.provider} within {timeout:.0f} s: open the address above, "
                           f"approve, and check that the app's registered redirect URI is {redirect} "
                           "(--timeout waits longer)", system=target.system, code="timeout")
    return complete(target, request, answer, tenant=tenant, choose_tenant=choose_tenant, say=say)


@dataclass(frozen=True)
class Authorization:
    """One authorization request in flight: the address to open, and what its answer is checked and traded with."""

    url: str
    state: str = field(repr=False)
    redirect_uri: str
    verifier: str | None = field(default=None, repr=False)  # PKCE (Xero): sent with the code, never in the URL


def authorization_for(target: Target, redirect_uri: str) -> Authorization:
    """A fresh ``state`` (and a PKCE S256 pair where the provider takes one) and the authorize URL carrying them.

    The CLI's listener and the web UI's callback route both start here, so both ask the provider alike."""
    state = secrets.token_urlsafe(32)
    verifier, challenge = new_pkce() if target.app.server.pkce else (None, None)
    url = target.app.authorization_url(redirect_uri=redirect_uri, state=state, code_challenge=challenge)
    return Authorization(url=url, state=state, redirect_uri=redirect_uri, verifier=verifier)


def complete(target: Target, request: Authorization, answer: dict[str, str], *, tenant: str | None = None,
             choose_tenant: Callable[[list[tuple[str, str]]], str] | None = None,
             say: Callable[[str], None] = print) -> str:
    """The rest of the flow once the provider answered ``request`` (the callback's query parameters): ``state``
    checked first, QBO's realm, the code traded, Xero's organisation, the pair saved under the refresh lock, and
    the first call's one line. Nothing is stored unless every check passed."""
    code = _code_from(answer, state=request.state, target=target)
    if target.system == "quickbooks":
        _checked_realm(answer, target, say)  # before the exchange: a wrong company gets no tokens at all
    pair = target.app.exchange(code, redirect_uri=request.redirect_uri, code_verifier=request.verifier)
    if target.system == "xero":
        _checked_tenant(target, pair, tenant=tenant, choose=choose_tenant)
    with target.lock():
        target.vault.save(pair)
    return target.prove()


def _code_from(answer: dict[str, str], *, state: str, target: Target) -> str:
    """The code of a callback whose ``state`` is ours (checked first: a forged redirect may carry anything)."""
    if not hmac.compare_digest(answer.get("state", "").encode(), state.encode()):
        raise ConnectError("the answer's state does not match the request Closeout made (a stale tab, or a redirect "
                           "not started here): nothing was stored; run `closeout connect` again",
                           system=target.system, code="state_mismatch")
    error = answer.get("error")
    if error == "access_denied":
        raise ConnectError(f"access was denied at {target.provider}'s consent page: nothing was stored",
                           system=target.system, code="access_denied")
    if error:
        said = "".join(ch for ch in answer.get("error_description", "") if ch.isprintable())[:200]
        raise ConnectError(f"{target.provider} refused the request ({error[:60]}{': ' + said if said else ''}): "
                           "nothing was stored", system=target.system, code=error[:60])
    if not answer.get("code"):
        raise ConnectError(f"{target.provider}'s answer holds no code: nothing was stored", system=target.system,
                           code="no_code")
    return answer["code"]


def _checked_realm(answer: dict[str, str], target: Target, say: Callable[[str], None]) -> str:
    """Intuit names the approved company in the redirect (``realmId``): it must be the config's."""
    realm, configured = answer.get("realmId", ""), target.company.ledger.realm_id
    if not realm:
        raise ConnectError("Intuit's answer names no company (realmId): nothing was stored", system=target.system,
                           code="no_realm")
    if not configured:
        say(f'put realm_id = "{realm}" under [companies.ledger] of {target.company.id}')
    elif realm != configured:
        raise ConnectError(f"you approved QuickBooks company {realm}, but the config's realm_id of "
                           f"{target.company.id} is {configured}: approve company {configured}, or set "
                           f'realm_id = "{realm}" under [companies.ledger]; nothing was stored',
                           system=target.system, code="wrong_realm")
    return realm


def _checked_tenant(target: Target, pair: TokenPair, *, tenant: str | None,
                    choose: Callable[[list[tuple[str, str]]], str] | None) -> str:
    """Xero's organisation for the new tokens: ``tenant``, the only connection, or the one ``choose`` picks among
    several; it must be the config's ``tenant_id``."""
    connected = [(item.get("tenantId", ""), item.get("tenantName", ""))
                 for item in target.app.connections(pair.access_token)
                 if item.get("tenantType", "ORGANISATION") == "ORGANISATION" and item.get("tenantId")]
    ids = [ident for ident, _ in connected]
    if not connected:
        raise ConnectError("the consent connected no Xero organisation: nothing was stored", system=target.system,
                           code="no_tenant")
    if tenant is not None:
        if tenant not in ids:
            raise ConnectError(f"organisation {tenant} is not among the connected ones ({', '.join(ids)}): nothing "
                               "was stored", system=target.system, code="wrong_tenant")
        chosen = tenant
    elif len(connected) == 1:
        chosen = ids[0]
    elif choose is not None:
        chosen = choose(connected)
    else:
        raise ConnectError(f"several Xero organisations are connected ({', '.join(ids)}): pass --tenant ID; "
                           "nothing was stored", system=target.system, code="several_tenants")
    configured = target.company.ledger.tenant_id
    if chosen != configured:
        raise ConnectError(f"the chosen Xero organisation is {chosen}, but the config's tenant_id of "
                           f"{target.company.id} is {configured}: choose {configured}, or set "
                           f'tenant_id = "{chosen}" under [companies.ledger]; nothing was stored',
                           system=target.system, code="wrong_tenant")
    return chosen


def disconnect(target: Target) -> str:
    """Revoke the stored refresh token at the provider (Jobber: ``appDisconnect``) and remove it from the vault.

    A token the provider already refuses is only removed. A provider that cannot be reached keeps the token
    stored (ConnectorError): the connection would otherwise stay live there with nobody holding it."""
    what = f"{target.company.id}'s {target.system} connection"
    if target.system == "jobber":
        return _disconnect_jobber(target, what)
    with target.lock():
        pair = target.vault.stored()
        if pair is None:
            return f"{what} holds no tokens: nothing to revoke"
        revoked = target.app.revoke(pair.refresh_token)
        target.vault.remove()
    if revoked:
        return (f"disconnected {what}: {target.provider} revoked the refresh token; removed from "
                f"{target.vault.describe()}")
    return (f"disconnected {what}: {target.provider} no longer knew the refresh token; removed from "
            f"{target.vault.describe()}")


def _disconnect_jobber(target: Target, what: str) -> str:
    assert target.jobber is not None and target.jobber_config is not None
    if target.vault.stored() is None:
        return f"{what} holds no tokens: nothing to revoke"
    try:
        target.jobber.check()  # a fresh access token (refreshed and saved if it had expired)
    except AuthError:
        target.vault.remove()
        return f"disconnected {what}: Jobber refused its tokens already; removed from {target.vault.describe()}"
    pair = target.vault.stored()
    assert pair is not None
    jobber_disconnect(target.app.client, api_url=target.jobber_config.api_url,
                      version=target.jobber_config.api_version, access_token=pair.access_token,
                      system=target.jobber_config.name)
    target.vault.remove()
    return f"disconnected {what}: Jobber ended the app's connection; removed from {target.vault.describe()}"
