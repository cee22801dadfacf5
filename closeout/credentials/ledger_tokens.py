"""A company's ledger bearer tokens: refreshed before they run out, one refresh at a time across workers.

``LedgerTokens`` is the ``token_provider`` the ledger connectors call before every request (and once more
after a 401). When the cached access token ends within ``REFRESH_MARGIN``, or the ledger refused it, it
takes the company's refresh lock (PostgreSQL advisory lock through the store, else a file lock in the
workspace), reads the vault again (another worker may have refreshed meanwhile), refreshes only if still
needed, and saves the new pair before returning it. A refused refresh opens ``ledger_refresh_failed``; a
refresh token that ends within ``refresh_warning_days`` opens ``ledger_token_expiring`` (once while open).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from closeout.credentials.blocks import LEDGER_BLOCKS, LEDGER_SECRET_PREFIX, block_document_name
from closeout.credentials.lookup import read_secret
from closeout.credentials.token_store import (REFRESH_MARGIN, SANDBOX_CLIENT_SECRET, RefreshingTokens,
                                              refresh_lock, sandbox_grant, token_http_client)
from closeout.credentials.vaults import BlockTokenVault, FileTokenVault, TokenVault
from connectors.errors import AuthError
from connectors.oauth import (INTUIT_DISCOVERY_URL, XERO_REFRESH_LIFETIME, XERO_TOKEN_URL, LedgerTokenRefresher,
                              TokenPair)
from exceptions_queue.service import CaseQueue
from services.config import CompanyConfig, MissingSecretError
from storage import SqlStore
from workorders.anomalies import Anomaly, AnomalyCode

__all__ = ["REFRESH_MARGIN", "SANDBOX_CLIENT_SECRET", "LedgerAccess", "LedgerTokens", "ledger_access",
           "ledger_token_provider", "refresh_lock", "token_client"]

log = logging.getLogger(__name__)


class LedgerTokens(RefreshingTokens):
    """The token provider of one company's ledger (``provider(None)``, ``provider(refused)``); thread-safe."""

    sandbox_name = "ledger sandbox"

    def __init__(self, *, company: str, ledger: str, vault: TokenVault, refresher: LedgerTokenRefresher,
                 lock: Callable[[], AbstractContextManager], store: SqlStore, warn_before: timedelta,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(system=ledger, vault=vault, refresher=refresher, lock=lock, clock=clock)
        self.company, self.ledger = company, ledger
        self._store, self._warn_before = store, warn_before
        self._checked = ""  # the refresh token whose expiry was last looked at

    def __repr__(self) -> str:
        return f"LedgerTokens(company={self.company!r}, ledger={self.ledger!r}, vault={self.vault!r})"

    def refused(self, exc: AuthError) -> AuthError:
        """Opens ``ledger_refresh_failed``; pushing stops until the ledger is connected again."""
        self._open(self._refresh_failed(exc))
        return AuthError(f"{self.ledger} refused to renew the access of company {self.company!r} "
                         f"({exc.code or 'refused'}): connect the ledger again; drafts stay ready",
                         system=exc.system, operation=exc.operation, code=exc.code)

    def renewed(self) -> None:
        log.info("refreshed the %s token of company %s", self.ledger, self.company)

    def checked(self, pair: TokenPair) -> None:
        """Opens ``ledger_token_expiring`` once per refresh token that ends within ``warn_before``."""
        if pair.refresh_token == self._checked:
            return
        self._checked = pair.refresh_token
        ends = pair.refresh_expires_at
        if ends is not None and ends - self._warn_before <= self._clock():
            self._open(Anomaly(
                code=AnomalyCode.ledger_token_expiring, subject=self._subject(), company=self.company,
                summary=f"the {self.ledger} refresh token of {self.company} ends {ends:%Y-%m-%d %H:%M} UTC: "
                        "connect the ledger again before then",
                evidence={"ledger": self.ledger, "refresh_expires_at": ends.isoformat()},
                suggested_actions=("reconnect_ledger",)))

    def _refresh_failed(self, exc: AuthError) -> Anomaly:
        return Anomaly(
            code=AnomalyCode.ledger_refresh_failed, subject=self._subject(), company=self.company,
            summary=f"{self.ledger} refused to renew Closeout's access for {self.company} ({exc.code or 'refused'}); "
                    "pushing to it has stopped",
            evidence={"ledger": self.ledger, "error": exc.code, "message": exc.message},
            suggested_actions=("reconnect_ledger", "resolve"))

    def _subject(self) -> str:
        return f"{self.company}:{self.ledger}"

    def _open(self, anomaly: Anomaly) -> None:
        with self._store.unit_of_work() as uow:
            CaseQueue(uow.cases).open_case(anomaly)
            uow.commit()


@dataclass(frozen=True)
class LedgerAccess:
    """One company's ledger connection as the refresher and ``closeout connect`` both see it: the app's client
    credentials, the vault and lock of the token pair, and the authorization server's token endpoint."""

    kind: str
    name: str  # ``<company>-<kind>``: the workspace token file and the refresh lock
    client_id: str
    client_secret: str = field(repr=False)
    vault: TokenVault
    token_url: str  # "" with a discovery_url: Intuit's discovery document names it
    discovery_url: str
    lock: Callable[[], AbstractContextManager]


def ledger_access(company: CompanyConfig, *, home: Path, store: SqlStore, sandbox_url: str | None,
                  client: httpx.Client, connecting: bool = False) -> LedgerAccess:
    """Where ``company``'s ledger tokens live and how its app authenticates (README, "Ledger credentials").

    ``connecting``: a ``credentials = "prefect"`` company whose block does not exist yet gets its client id
    and secret from the other secret sources (``read_secret``), and the block is created with the first pair.
    """
    ledger = company.ledger
    kind, prefix = ledger.kind, LEDGER_SECRET_PREFIX[ledger.kind]
    name = f"{company.id}-{kind}"  # the workspace token file and lock (block names follow block_document_name)
    if ledger.uses_sandbox:
        client_id, client_secret = f"closeout-{company.id}", SANDBOX_CLIENT_SECRET
        vault: TokenVault = FileTokenVault(home / "tokens" / f"{name}.json", first_refresh_token=lambda: _sandbox_grant(
            client, sandbox_url or "", kind, client_id))
        token_url = ledger.token_url or (f"{sandbox_url}/connect/token" if kind == "xero" else "")
        discovery = "" if token_url else f"{sandbox_url}/.well-known/openid_configuration"
    else:
        if ledger.credentials == "prefect":
            ids = {"realm_id": ledger.realm_id} if kind == "quickbooks" else {"tenant_id": ledger.tenant_id}
            block_name = block_document_name(company.id, kind)
            try:
                client_id, client_secret = BlockTokenVault(LEDGER_BLOCKS[kind], block_name).client()
            except MissingSecretError:
                if not connecting:
                    raise
                client_id = read_secret(f"{prefix}-client-id", company.id)
                client_secret = read_secret(f"{prefix}-client-secret", company.id)
            vault = BlockTokenVault(LEDGER_BLOCKS[kind], block_name, new_client=(client_id, client_secret),
                                    fields=ids)
        else:
            client_id = read_secret(f"{prefix}-client-id", company.id)
            client_secret = read_secret(f"{prefix}-client-secret", company.id)
            vault = FileTokenVault(home / "tokens" / f"{name}.json",
                                   first_refresh_token=lambda: read_secret(f"{prefix}-refresh-token", company.id))
        token_url = ledger.token_url or (XERO_TOKEN_URL if kind == "xero" else "")
        discovery = "" if token_url else INTUIT_DISCOVERY_URL
    return LedgerAccess(kind=kind, name=name, client_id=client_id, client_secret=client_secret, vault=vault,
                        token_url=token_url, discovery_url=discovery, lock=refresh_lock(store, home, name))


def token_client(company: CompanyConfig) -> httpx.Client:
    """The client that talks to the ledger's authorization server, trusting the ledger's ``ca_file``."""
    return token_http_client(sandbox=company.ledger.uses_sandbox, ca_file=company.ledger.ca_file)


def ledger_token_provider(company: CompanyConfig, *, home: Path, store: SqlStore, sandbox_url: str | None,
                          client: httpx.Client | None = None) -> LedgerTokens:
    """The token provider for ``company``'s ledger, per its config (see README, "Ledger credentials")."""
    ledger = company.ledger
    client = client or token_client(company)
    access = ledger_access(company, home=home, store=store, sandbox_url=sandbox_url, client=client)
    refresher = LedgerTokenRefresher(client=client, system=access.kind, client_id=access.client_id,
                                     client_secret=access.client_secret, token_url=access.token_url,
                                     discovery_url=access.discovery_url,
                                     refresh_lifetime=XERO_REFRESH_LIFETIME if access.kind == "xero" else None)
    return LedgerTokens(company=company.id, ledger=access.kind, vault=access.vault, refresher=refresher,
                        lock=access.lock, store=store, warn_before=timedelta(days=ledger.refresh_warning_days))


def _sandbox_grant(client: httpx.Client, sandbox_url: str, kind: str, client_id: str) -> str:
    """A first refresh token from the ledger sandbox (what connecting the app gives for real)."""
    system = "xero" if kind == "xero" else "qbo"
    return sandbox_grant(client, f"{sandbox_url}/_sandbox/{system}/tokens", {"client_id": client_id})
