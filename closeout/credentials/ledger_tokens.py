"""A company's ledger bearer tokens: refreshed before they run out, one refresh at a time across workers.

``LedgerTokens`` is the ``token_provider`` the ledger connectors call before every request (and once more
after a 401). When the cached access token ends within ``REFRESH_MARGIN``, or the ledger refused it, it
takes the company's refresh lock (PostgreSQL advisory lock through the store, else a file lock in the
workspace), reads the vault again (another worker may have refreshed meanwhile), refreshes only if still
needed, and saves the new pair before returning it. A refused refresh opens ``ledger_refresh_failed``; a
refresh token that ends within ``refresh_warning_days`` opens ``ledger_token_expiring`` (once while open).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from services.config import CompanyConfig
from closeout.credentials.blocks import LEDGER_BLOCKS, LEDGER_SECRET_PREFIX, block_document_name
from closeout.credentials.lookup import read_secret
from closeout.credentials.vaults import BlockTokenVault, FileTokenVault, TokenVault
from closeout.tls import ca_file_for
from services.config import MissingSecretError
from connectors.errors import AuthError, RetriableError
from connectors.source_http import verify_for
from connectors.oauth import (INTUIT_DISCOVERY_URL, XERO_REFRESH_LIFETIME, XERO_TOKEN_URL, LedgerTokenRefresher,
                                     TokenPair)
from exceptions_queue.service import CaseQueue
from storage import SqlStore
from storage.sql_locks import named_lock, supports_named_locks
from workorders.anomalies import Anomaly, AnomalyCode

REFRESH_MARGIN = timedelta(minutes=5)
SANDBOX_CLIENT_SECRET = "closeout-sandbox-secret"
"""The client secret of every sandbox ledger app (client id ``closeout-<company>``): the sandbox is local."""
log = logging.getLogger(__name__)


class LedgerTokens:
    """The token provider of one company's ledger (``provider(None)``, ``provider(refused)``); thread-safe."""

    def __init__(self, *, company: str, ledger: str, vault: TokenVault, refresher: LedgerTokenRefresher,
                 lock: Callable[[], AbstractContextManager], store: SqlStore, warn_before: timedelta,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.company, self.ledger, self.vault, self.refresher = company, ledger, vault, refresher
        self._lock, self._store, self._warn_before = lock, store, warn_before
        self._clock = clock or (lambda: datetime.now(UTC))
        self._pair: TokenPair | None = None
        self._checked = ""  # the refresh token whose expiry was last looked at
        self._mutex = threading.Lock()

    def __repr__(self) -> str:
        return f"LedgerTokens(company={self.company!r}, ledger={self.ledger!r}, vault={self.vault!r})"

    def __call__(self, refused: str | None = None) -> str:
        with self._mutex:
            pair = self._pair
            if pair is None or self._stale(pair, refused):
                pair = self._pair = self._renewed(refused)
            self._warn_if_expiring(pair)
            return pair.access_token

    def _stale(self, pair: TokenPair, refused: str | None) -> bool:
        return pair.expires_within(REFRESH_MARGIN, self._clock()) or (refused is not None
                                                                      and pair.access_token == refused)

    def _renewed(self, refused: str | None) -> TokenPair:
        """The vault's pair, refreshed (and saved) under the company's lock if it is still stale there."""
        pair = self._load()
        if not self._stale(pair, refused):
            return pair
        with self._lock():
            pair = self._load()  # another worker may have refreshed while we waited
            if not self._stale(pair, refused):
                return pair
            try:
                fresh = self.refresher.refresh(pair.refresh_token)
            except AuthError as exc:
                self._open(self._refresh_failed(exc))
                raise AuthError(f"{self.ledger} refused to renew the access of company {self.company!r} "
                                f"({exc.code or 'refused'}): connect the ledger again; drafts stay ready",
                                system=exc.system, operation=exc.operation, code=exc.code) from None
            self.vault.save(fresh)  # durable before anything uses the new access token
        log.info("refreshed the %s token of company %s", self.ledger, self.company)
        return fresh

    def _load(self) -> TokenPair:
        """The vault's pair; a missing credential stops the push loudly (AuthError), an unreachable sandbox retries."""
        try:
            return self.vault.load()
        except MissingSecretError as exc:
            raise AuthError(str(exc), system=self.ledger, operation="load token") from None
        except httpx.HTTPError as exc:  # the sandbox's first grant (``_sandbox_grant``)
            raise RetriableError(f"the ledger sandbox did not grant a token: {type(exc).__name__}",
                                 system=self.ledger, operation="load token") from None

    def _warn_if_expiring(self, pair: TokenPair) -> None:
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


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created 0600), held until the block ends; waits for other holders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b", opener=lambda name, flags: os.open(name, flags, 0o600)) as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def refresh_lock(store: SqlStore, home: Path, name: str) -> Callable[[], AbstractContextManager]:
    """The company's refresh lock: an advisory lock on a PostgreSQL store, else a file lock in the workspace."""
    if supports_named_locks(store.engine):
        return lambda: named_lock(store.engine, f"ledger-token:{name}")
    return lambda: file_lock(home / "tokens" / f"{name}.lock")


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
    """The client that talks to the ledger's authorization server: certificates verified against the ledger's
    ``ca_file`` (``closeout.tls``), the environment's proxies ignored for the local sandbox."""
    ledger = company.ledger
    return httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0), trust_env=not ledger.uses_sandbox,
                        verify=verify_for(ca_file_for(ledger.ca_file)))


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
    """A first refresh token from the sandbox's authorization server (what connecting the app gives for real)."""
    system = "xero" if kind == "xero" else "qbo"
    answer = client.post(f"{sandbox_url}/_sandbox/{system}/tokens",
                         json={"client_id": client_id, "client_secret": SANDBOX_CLIENT_SECRET})
    answer.raise_for_status()
    return str(answer.json()["refresh_token"])
