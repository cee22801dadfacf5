"""A mailbox's OAuth2 access tokens (Microsoft 365, Google): the ledgers' refreshing provider, for IMAP.

``MailboxTokens`` is the ``token_provider`` an ``auth = "oauth2"`` ImapInbox signs in with: a token good for
``REFRESH_MARGIN`` more, else the vault's pair refreshed under the mailbox's refresh lock (PostgreSQL advisory
lock or a workspace file lock, as the ledgers'), the vault read again first (another worker may have refreshed),
the new pair saved before it is used (Microsoft rotates refresh tokens). ``provider(refused)`` after the server
refused ``refused`` renews it whatever its expiry says. A refused renewal is ``AuthError`` naming the command
that reconnects; the mail flow turns it into a ``connection_failed`` case (services.mail.health).

Endpoints (README, "Mailbox sign-in with OAuth2"):
- Microsoft identity platform v2.0: ``https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize`` and
  ``…/token``; scope ``https://outlook.office.com/IMAP.AccessAsUser.All offline_access`` (Microsoft's "Authenticate
  an IMAP, POP or SMTP connection using OAuth"; offline_access is what gives a refresh token), sent with every
  refresh too (the identity platform refuses some refreshes without it). PKCE S256.
- Google: ``https://accounts.google.com/o/oauth2/v2/auth`` with ``access_type=offline&prompt=consent`` (Google
  gives a refresh token only then), token ``https://oauth2.googleapis.com/token``; scope
  ``https://mail.google.com/`` (the one scope Gmail's IMAP accepts). PKCE S256.
Both get ``login_hint`` = the mailbox's username, and the client id and secret as form fields.
``oauth_url = "sandbox"`` puts the same paths under the local sandbox (sandbox.mail_oauth), whose client is
``closeout-<company>-<mailbox>`` and whose first refresh token is granted for the mailbox's user, like the
ledger sandbox's, so a demo mailbox needs no ``closeout connect``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

from closeout.credentials.lookup import read_secret
from closeout.credentials.token_store import (REFRESH_MARGIN, SANDBOX_CLIENT_SECRET, RefreshingTokens,
                                              refresh_lock, sandbox_grant, token_http_client)
from closeout.credentials.vaults import FileTokenVault
from connectors.errors import AuthError
from connectors.oauth import LedgerTokenRefresher
from services.config import CompanyConfig, MissingSecretError
from services.mailbox_config import MailboxConfig
from storage import SqlStore

MICROSOFT_LOGIN_URL = "https://login.microsoftonline.com"
MICROSOFT_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
GOOGLE_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_SCOPE = "https://mail.google.com/"
SANDBOX_SYSTEM = {"microsoft": "ms365", "google": "google"}
"""Provider → the sandbox's name for it (its admin routes: /_sandbox/ms365/…, /_sandbox/google/…)."""
PROVIDER_NAME = {"microsoft": "Microsoft", "google": "Google"}
__all__ = ["GOOGLE_AUTHORIZE_URL", "MICROSOFT_LOGIN_URL", "PROVIDER_NAME", "REFRESH_MARGIN", "MailboxAccess",
           "MailboxTokens", "mailbox_access", "mailbox_token_provider", "token_client"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailboxAccess:
    """One mailbox's OAuth app and tokens as the refresher and ``closeout connect mailbox`` both see them."""

    provider: str  # microsoft | google
    name: str  # ``<company>-imap-<mailbox>``: the workspace token file and the refresh lock
    client_id: str
    client_secret: str = field(repr=False)
    vault: FileTokenVault
    authorize_url: str  # with the provider's fixed parameters (login_hint; Google's access_type, prompt)
    token_url: str
    scope: str
    lock: Callable[[], AbstractContextManager]
    sandbox: bool = False


def mailbox_access(company: CompanyConfig, mailbox: MailboxConfig, *, home: Path, store: SqlStore,
                   sandbox_url: str | None, client: httpx.Client) -> MailboxAccess:
    """Where ``mailbox``'s tokens live, which app asks for them and at which endpoints (module docstring)."""
    provider = mailbox.oauth_provider
    if mailbox.auth != "oauth2" or provider is None:
        raise MissingSecretError(f"mailbox {mailbox.name!r} of {company.id!r} signs in with a password, not OAuth2 "
                                 '(set auth = "oauth2" and oauth_provider)')
    name = f"{company.id}-imap-{mailbox.name}"
    sandbox = mailbox.oauth_url == "sandbox"
    if sandbox and not sandbox_url:
        raise MissingSecretError("the mailbox signs in at the sandbox, which is not running")
    if provider == "microsoft":
        root = sandbox_url if sandbox else (mailbox.oauth_url or MICROSOFT_LOGIN_URL)
        base = f"{root.rstrip('/')}/{mailbox.oauth_tenant}/oauth2/v2.0"
        authorize, token_url = f"{base}/authorize", f"{base}/token"
        fixed = {"login_hint": mailbox.username}
        scope = mailbox.oauth_scope or MICROSOFT_SCOPE
    else:
        root = (sandbox_url or "") if sandbox else mailbox.oauth_url
        authorize = f"{root.rstrip('/')}/o/oauth2/v2/auth" if root else GOOGLE_AUTHORIZE_URL
        token_url = f"{root.rstrip('/')}/token" if root else GOOGLE_TOKEN_URL
        fixed = {"login_hint": mailbox.username, "access_type": "offline", "prompt": "consent"}
        scope = mailbox.oauth_scope or GOOGLE_SCOPE
    if sandbox:
        client_id, client_secret = f"closeout-{company.id}-{mailbox.name}", SANDBOX_CLIENT_SECRET
        first = lambda: _sandbox_grant(client, sandbox_url or "", provider, client_id, mailbox.username)  # noqa: E731
    else:
        client_id = read_secret(f"imap-client-id-{mailbox.name}", company.id, system="imap")
        client_secret = read_secret(f"imap-client-secret-{mailbox.name}", company.id, system="imap")
        first = lambda: _not_connected(company, mailbox)  # noqa: E731
    vault = FileTokenVault(home / "tokens" / f"{name}.json", first_refresh_token=first)
    return MailboxAccess(provider=provider, name=name, client_id=client_id, client_secret=client_secret,
                         vault=vault, authorize_url=f"{authorize}?{urlencode(fixed)}", token_url=token_url,
                         scope=scope, lock=refresh_lock(store, home, name), sandbox=sandbox)


def _not_connected(company: CompanyConfig, mailbox: MailboxConfig) -> str:
    raise MissingSecretError(f"mailbox {mailbox.name!r} of {company.id!r} is not connected yet: run `closeout "
                             f"connect mailbox --company {company.id} --mailbox {mailbox.name}`")


def _sandbox_grant(client: httpx.Client, sandbox_url: str, provider: str, client_id: str, username: str) -> str:
    """A first refresh token for the mailbox's user from the sandbox (what a person's consent gives for real)."""
    return sandbox_grant(client, f"{sandbox_url}/_sandbox/{SANDBOX_SYSTEM[provider]}/accounts",
                         {"client_id": client_id, "username": username})


class MailboxTokens(RefreshingTokens):
    """The token provider of one mailbox (``provider(None)``, ``provider(refused)``); thread-safe."""

    sandbox_name = "mail sign-in sandbox"
    not_connected_code = "not_connected"  # never connected, or disconnected: stops loudly

    def __init__(self, *, company: str, mailbox: str, access: MailboxAccess, refresher: LedgerTokenRefresher,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(system="imap", vault=access.vault, refresher=refresher, lock=access.lock, clock=clock)
        self.company, self.mailbox, self.access = company, mailbox, access

    def __repr__(self) -> str:
        return f"MailboxTokens(company={self.company!r}, mailbox={self.mailbox!r}, vault={self.vault!r})"

    def refused(self, exc: AuthError) -> AuthError:
        """Names the command that reconnects; the mail flow makes it a ``connection_failed`` case."""
        return AuthError(
            f"{PROVIDER_NAME[self.access.provider]} refused to renew Closeout's access to mailbox "
            f"{self.mailbox!r} of {self.company!r} ({exc.code or 'refused'}): run `closeout connect mailbox "
            f"--company {self.company} --mailbox {self.mailbox}`", system="imap", operation="refresh token",
            code=exc.code or "refresh_refused")

    def renewed(self) -> None:
        log.info("refreshed the access token of mailbox %s of company %s", self.mailbox, self.company)


def token_client(mailbox: MailboxConfig) -> httpx.Client:
    """The client that talks to the mail provider's authorization server (the system's trust, or
    ``$CLOSEOUT_CA_FILE``)."""
    return token_http_client(sandbox=mailbox.oauth_url == "sandbox", ca_file=None)


def mailbox_token_provider(company: CompanyConfig, mailbox: MailboxConfig, *, home: Path, store: SqlStore,
                           sandbox_url: str | None, client: httpx.Client | None = None) -> MailboxTokens:
    """The token provider of ``mailbox`` (``auth = "oauth2"``), per its config (module docstring)."""
    client = client or token_client(mailbox)
    access = mailbox_access(company, mailbox, home=home, store=store, sandbox_url=sandbox_url, client=client)
    refresher = LedgerTokenRefresher(client=client, system="imap", client_id=access.client_id,
                                     client_secret=access.client_secret, token_url=access.token_url,
                                     scope=access.scope if access.provider == "microsoft" else "",
                                     client_in_form=True)
    return MailboxTokens(company=company.id, mailbox=mailbox.name, access=access, refresher=refresher)
