"""The port the web UI's Connections page works through: each company's connections, their state, the OAuth flow."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict


class LinkState(StrEnum):
    connected = "connected"
    not_connected = "not_connected"
    refused = "refused"  # the provider refused the last refresh, or a connection_failed case is open
    not_needed = "not_needed"  # nothing to connect: a CSV drop, a local mailbox, a password or an API key


class Link(BaseModel):
    """One source, mailbox or ledger of one company, as the Connections page shows it."""

    model_config = ConfigDict(frozen=True)

    company: str
    company_name: str
    role: str  # ledger | source | mailbox
    system: str  # quickbooks, xero, jobber, csv, imap...: what it is
    name: str  # the source's or mailbox's name; the ledger's kind
    state: LinkState
    detail: str = ""  # one line: "refresh token good for 87 more days", the open case's words...
    expires_in_days: int | None = None
    case_id: int | None = None  # the open case that says it is refused
    connectable: bool = False  # the page may start the authorization-code flow for it (Connect / Reconnect)

    @property
    def disconnectable(self) -> bool:
        """The page offers Disconnect: a connection it could connect that holds tokens (connected or refused)."""
        return self.connectable and self.state in (LinkState.connected, LinkState.refused)


class ConnectingError(Exception):
    """The flow could not start or finish (unknown connection, refused answer, failed exchange): nothing was
    stored. The message is one line for the person, never naming a token, a code or a client secret."""


class Connections(Protocol):
    """What the Connections page may ask of the product. ``closeout.credentials.web_connect`` implements it.

    ``start`` answers an opaque request with ``url`` (the provider's authorize address) and ``state``; the
    page keeps it server-side, bound to the session, and hands it back with the callback's parameters to
    ``finish``, which checks, trades, stores and proves, and answers the first call's one line. ``disconnect`` is
    ``closeout disconnect``: the tokens revoked at the provider where it can, removed from the vault, audited."""

    public_url: str | None
    """The UI's address as registered with the providers (behind a proxy); None: the address the browser used."""

    def links(self) -> list[Link]: ...
    def authorize_origins(self) -> set[str]:
        """The origins (scheme://host[:port]) of the providers' authorize pages the page's form may lead to."""
    def start(self, company: str, system: str, *, source: str | None, redirect_uri: str) -> Any: ...
    def finish(self, company: str, system: str, *, source: str | None, request: Any, answer: dict[str, str],
               actor: str) -> str: ...
    def disconnect(self, company: str, system: str, *, source: str | None, actor: str) -> str:
        """Revoke and forget the connection's tokens; one line for the person, or ``ConnectingError``."""


__all__ = ["ConnectingError", "Connections", "Link", "LinkState"]
