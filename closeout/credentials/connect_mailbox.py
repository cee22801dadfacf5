"""``closeout connect mailbox``: a mailbox's first OAuth2 tokens (Microsoft 365, Google), by the ledgers' own flow.

``resolve_mailbox`` makes the ``closeout.credentials.connect.Target`` of one ``auth = "oauth2"`` mailbox: its app
and endpoints from ``closeout.credentials.mailbox_tokens.mailbox_access`` (the refresher's own view: the same
vault and refresh lock), PKCE S256, the client as form fields. ``closeout.credentials.connect.connect`` then runs
the authorization-code flow unchanged (listener, ``state``, the exchange, the save under the lock), and ``prove``
signs in to the IMAP server with the stored tokens, as every run will: the one line names the folder it read.
``disconnect_mailbox`` forgets the tokens (Microsoft has no endpoint that revokes one refresh token).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from closeout.credentials.connect import Target
from closeout.credentials.mailbox_tokens import PROVIDER_NAME, mailbox_access, mailbox_token_provider, token_client
from closeout.wiring import App, build_inbox
from connectors.oauth import AuthorizationServer, OAuthApp
from services.config import CompanyConfig, ConfigError
from services.mailbox_config import MailboxConfig

SYSTEM = "mailbox"


@dataclass
class MailboxTarget(Target):
    """A mailbox's connection: ``Target`` with the mail provider's name (Microsoft, Google) and the mailbox."""

    mailbox: MailboxConfig | None = None
    provider_name: str = ""

    @property
    def provider(self) -> str:
        return self.provider_name


def oauth_mailbox(company: CompanyConfig, name: str | None) -> MailboxConfig:
    """The company's ``auth = "oauth2"`` mailbox called ``name`` (or its only one); ConfigError in one line."""
    oauth = [m for m in company.mailboxes if m.kind == "imap" and m.auth == "oauth2"]
    found = [m for m in company.mailboxes if m.name == name] if name else oauth
    if name and not found:
        raise ConfigError(f"company {company.id!r} has no mailbox named {name!r}")
    if not name and len(found) != 1:
        raise ConfigError(f"company {company.id!r} has {'no OAuth2 mailbox' if not found else 'several OAuth2 mailboxes'}"
                          + (": pass --mailbox NAME" if found else ' (auth = "oauth2" under [[companies.mailboxes]])'))
    mailbox = found[0]
    if mailbox.auth != "oauth2":
        raise ConfigError(f"mailbox {mailbox.name!r} signs in with a password: set auth = \"oauth2\" and "
                          "oauth_provider = \"microsoft\" or \"google\" to connect it")
    return mailbox


def resolve_mailbox(app: App, company_id: str, mailbox_name: str | None, *, scope: str | None = None,
                    client: httpx.Client | None = None) -> MailboxTarget:
    """The connection of mailbox ``mailbox_name`` of company ``company_id`` as the mail runs use it."""
    company = app.config.company(company_id)
    mailbox = oauth_mailbox(company, mailbox_name)
    if mailbox.oauth_url == "sandbox" and not app.sandbox_url:
        raise ConfigError("the mailbox signs in at the sandbox, which is not running")
    client = client or token_client(mailbox)
    access = mailbox_access(company, mailbox, home=app.home, store=app.store, sandbox_url=app.sandbox_url,
                            client=client)
    server = AuthorizationServer(system=SYSTEM, authorize_url=access.authorize_url, token_url=access.token_url,
                                 scope=scope or access.scope, pkce=True, client_in_form=True)
    oauth = OAuthApp(server, client=client, client_id=access.client_id, client_secret=access.client_secret)

    def prove() -> str:
        tokens = mailbox_token_provider(company, mailbox, home=app.home, store=app.store,
                                        sandbox_url=app.sandbox_url, client=client)  # the runs' own view
        with build_inbox(company, mailbox, token_provider=tokens) as inbox:
            newest = inbox.newest_arrival(mailbox.folders[0])
        seen = f"newest message {newest:%Y-%m-%d %H:%M} UTC" if newest else "no message yet"
        return (f"connected {company.id}'s mailbox {mailbox.name} ({mailbox.username} at {mailbox.host}, "
                f"{mailbox.oauth_mechanism}): {mailbox.folders[0]} read, {seen}; tokens kept in "
                f"{access.vault.describe()}")

    return MailboxTarget(system=SYSTEM, company=company, app=oauth, vault=access.vault, lock=access.lock,
                         prove=prove, mailbox=mailbox, provider_name=PROVIDER_NAME[access.provider])


def disconnect_mailbox(target: MailboxTarget) -> str:
    """Forget the mailbox's tokens (the runs stop signing in until the next ``closeout connect mailbox``)."""
    assert target.mailbox is not None
    what = f"{target.company.id}'s mailbox {target.mailbox.name}"
    with target.lock():
        if target.vault.stored() is None:
            return f"{what} holds no tokens: nothing to remove"
        target.vault.remove()
    return (f"disconnected {what}: tokens removed from {target.vault.describe()}; the consent stays at "
            f"{target.provider} until the app is removed there")
