"""The ledgers' OAuth credentials: the Prefect blocks QuickBooksCredentials and XeroCredentials, and the token
vaults that keep a company's current pair there or in a 0600 file in the workspace.

A vault's ``save`` is durable when it returns: the ledger uses a new access token only after that, because
the refresh that produced it may have made the old refresh token worthless (Intuit, Xero: rotation).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from closeout.credential_blocks import LEDGER_BLOCKS, LedgerCredentials, QuickBooksCredentials, XeroCredentials
from closeout.secrets import FileTokenStore
from services.config import MissingSecretError
from connectors.jobber import OAuthTokens
from connectors.ledger_oauth import TokenPair


__all__ = ["LEDGER_BLOCKS", "BlockTokenVault", "FileTokenVault", "LedgerCredentials", "QuickBooksCredentials",
           "TokenVault", "XeroCredentials"]

class TokenVault(Protocol):
    """Where a company's current pair lives: ``load`` reads it afresh; ``save`` is durable when it returns."""

    def load(self) -> TokenPair: ...

    def save(self, pair: TokenPair) -> None: ...


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


class BlockTokenVault:
    """The pair in a QuickBooksCredentials / XeroCredentials block (shared by workers on any machine)."""

    def __init__(self, block_type: type[LedgerCredentials], name: str) -> None:
        self.block_type, self.name = block_type, name

    def __repr__(self) -> str:
        return f"BlockTokenVault({self.block_type.get_block_type_slug()}/{self.name})"

    def block(self) -> LedgerCredentials:
        try:
            return self.block_type.load(self.name)
        except ValueError:  # Prefect's "Unable to find block document named ..."
            raise MissingSecretError(f"no Prefect block {self.block_type.get_block_type_slug()}/{self.name}: "
                                     "create it with `closeout setup`") from None

    def client(self) -> tuple[str, str]:
        block = self.block()
        return _secret(block.client_id), _secret(block.client_secret)

    def load(self) -> TokenPair:
        block = self.block()
        return TokenPair(access_token=_secret(block.access_token), refresh_token=_secret(block.refresh_token),
                         expires_at=block.expires_at, refresh_expires_at=block.refresh_expires_at)

    def save(self, pair: TokenPair) -> None:
        block = self.block()
        block.access_token, block.refresh_token = SecretStr(pair.access_token), SecretStr(pair.refresh_token)
        block.expires_at, block.refresh_expires_at = pair.expires_at, pair.refresh_expires_at
        block.save(self.name, overwrite=True)


class FileTokenVault:
    """The pair in the workspace's 0600 token file (``closeout.secrets.FileTokenStore``), expiry times beside it.

    Before the first refresh the file does not exist: the pair is ``first_refresh_token()`` and no access token.
    """

    def __init__(self, path: Path, *, first_refresh_token: Callable[[], str]) -> None:
        self.store = FileTokenStore(path, first_refresh_token=first_refresh_token)

    def __repr__(self) -> str:
        return f"FileTokenVault({self.store.path})"

    def load(self) -> TokenPair:
        tokens, extra = self.store.load(), self.store.load_extra()
        return TokenPair(access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                         expires_at=_moment(extra.get("expires_at")),
                         refresh_expires_at=_moment(extra.get("refresh_expires_at")))

    def save(self, pair: TokenPair) -> None:
        times = {key: value.isoformat() for key, value in (("expires_at", pair.expires_at),
                                                           ("refresh_expires_at", pair.refresh_expires_at)) if value}
        self.store.save(OAuthTokens(access_token=pair.access_token, refresh_token=pair.refresh_token), **times)


def _moment(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
