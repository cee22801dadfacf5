"""The refreshing OAuth2 token provider the ledgers and the mailboxes share: cache, vault, refresh lock, renewal.

``RefreshingTokens`` is a ``token_provider`` (``provider(None)``, ``provider(refused)``): a cached access token
good for ``REFRESH_MARGIN`` more, else the vault's pair; a stale one is refreshed under the connection's refresh
lock (``refresh_lock``: PostgreSQL advisory lock through the store, else a file lock in the workspace), the vault
read again first (another worker may have refreshed meanwhile), and the new pair saved before it is used (some
providers rotate refresh tokens). A subclass says what its connection is called and what a refused renewal means
(``LedgerTokens``: a case, then ``AuthError``; ``MailboxTokens``: ``AuthError`` naming the command that reconnects).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from closeout.credentials.vaults import TokenVault
from closeout.tls import ca_file_for
from connectors.errors import AuthError, RetriableError
from connectors.oauth import LedgerTokenRefresher, TokenPair
from connectors.source_http import verify_for
from services.config import MissingSecretError
from storage import SqlStore
from storage.sql_locks import named_lock, supports_named_locks

__all__ = ["REFRESH_MARGIN", "SANDBOX_CLIENT_SECRET", "RefreshingTokens", "file_lock", "refresh_lock",
           "sandbox_grant", "token_http_client"]

REFRESH_MARGIN = timedelta(minutes=5)
SANDBOX_CLIENT_SECRET = "closeout-sandbox-secret"
"""The client secret of every sandbox app (ledger ``closeout-<company>``, mailbox ``closeout-<company>-<mailbox>``):
the sandbox is local."""
log = logging.getLogger(__name__)


class RefreshingTokens:
    """One connection's token provider (module docstring); thread-safe. ``system`` names the connection in its
    errors; subclasses say what a refused renewal means (``refused``) and how a renewal is logged (``renewed``)."""

    sandbox_name = "sandbox"
    """What failed to grant a first token when the sandbox could not be reached."""
    not_connected_code = ""
    """The ``AuthError`` code of a vault that holds no pair (never connected, or disconnected)."""

    def __init__(self, *, system: str, vault: TokenVault, refresher: LedgerTokenRefresher,
                 lock: Callable[[], AbstractContextManager], clock: Callable[[], datetime] | None = None) -> None:
        self.system, self.vault, self.refresher, self._lock = system, vault, refresher, lock
        self._clock = clock or (lambda: datetime.now(UTC))
        self._pair: TokenPair | None = None
        self._mutex = threading.Lock()

    def refused(self, exc: AuthError) -> AuthError:
        """The error a refused renewal raises (after whatever the connection records of it)."""
        raise NotImplementedError

    def renewed(self) -> None:
        """Logs a renewal that was saved."""
        raise NotImplementedError

    def checked(self, pair: TokenPair) -> None:
        """Looks at the pair about to be used (the ledgers warn of a refresh token that ends soon)."""

    def __call__(self, refused: str | None = None) -> str:
        with self._mutex:
            pair = self._pair
            if pair is None or self._stale(pair, refused):
                pair = self._pair = self._renewed(refused)
            self.checked(pair)
            return pair.access_token

    def _stale(self, pair: TokenPair, refused: str | None) -> bool:
        return pair.expires_within(REFRESH_MARGIN, self._clock()) or (refused is not None
                                                                      and pair.access_token == refused)

    def _renewed(self, refused: str | None) -> TokenPair:
        """The vault's pair, refreshed (and saved) under the connection's lock if it is still stale there."""
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
                raise self.refused(exc) from None
            self.vault.save(fresh)  # durable before anything uses the new access token
        self.renewed()
        return fresh

    def _load(self) -> TokenPair:
        """The vault's pair; a missing credential stops loudly (AuthError), an unreachable sandbox retries."""
        try:
            return self.vault.load()
        except MissingSecretError as exc:
            raise AuthError(str(exc), system=self.system, operation="load token",
                            code=self.not_connected_code) from None
        except httpx.HTTPError as exc:  # the sandbox's first grant (``sandbox_grant``)
            raise RetriableError(f"the {self.sandbox_name} did not grant a token: {type(exc).__name__}",
                                 system=self.system, operation="load token") from None


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
    """The connection's refresh lock: an advisory lock on a PostgreSQL store, else a file lock in the workspace."""
    if supports_named_locks(store.engine):
        return lambda: named_lock(store.engine, f"ledger-token:{name}")
    return lambda: file_lock(home / "tokens" / f"{name}.lock")


def token_http_client(*, sandbox: bool, ca_file: Path | None) -> httpx.Client:
    """The client that talks to an authorization server: certificates verified (``closeout.tls``), the
    environment's proxies ignored for the local sandbox."""
    return httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0), trust_env=not sandbox,
                        verify=verify_for(ca_file_for(ca_file)))


def sandbox_grant(client: httpx.Client, url: str, body: dict[str, Any]) -> str:
    """A first refresh token from the sandbox's authorization server at ``url`` (what a person's consent gives for
    real)."""
    answer = client.post(url, json={**body, "client_secret": SANDBOX_CLIENT_SECRET})
    answer.raise_for_status()
    return str(answer.json()["refresh_token"])
