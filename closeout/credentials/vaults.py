"""Token vaults: where an OAuth connection's current pair lives, a credential block or a 0600 file in the workspace.

A vault's ``save`` is durable when it returns: the ledger uses a new access token only after that, because
the refresh that produced it may have made the old refresh token worthless (Intuit, Xero: rotation).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import SecretStr

from closeout.credentials.blocks import LEDGER_BLOCKS, LedgerCredentials, QuickBooksCredentials, XeroCredentials
from services.config import MissingSecretError
from connectors.oauth import TokenPair, TokenVault


__all__ = ["LEDGER_BLOCKS", "BlockTokenVault", "FileTokenVault", "LedgerCredentials", "QuickBooksCredentials",
           "TokenVault", "XeroCredentials"]


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
    """The pair in a 0600 JSON file in the workspace (``tokens/<company>-<name>.json``), expiry times beside it.

    Jobber, Intuit and Xero rotate refresh tokens and may void the old one at once, so ``save`` writes a
    temporary file (0600, one per writer so two refreshing processes never rename each other's away), fsyncs
    it and renames it over the old one before the connector uses the new access token. Before the first
    refresh the file does not exist: the pair is ``first_refresh_token()`` (env var or Secret block) and no
    access token. One machine only: workers on several machines share a credential block (``BlockTokenVault``).
    """

    def __init__(self, path: Path, *, first_refresh_token: Callable[[], str]) -> None:
        self.path = path
        self.first_refresh_token = first_refresh_token

    def __repr__(self) -> str:
        return f"FileTokenVault({self.path})"

    def load(self) -> TokenPair:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return TokenPair(access_token=str(data["access_token"]), refresh_token=str(data["refresh_token"]),
                             expires_at=_moment(data.get("expires_at")),
                             refresh_expires_at=_moment(data.get("refresh_expires_at")))
        except FileNotFoundError:
            return TokenPair(access_token="", refresh_token=self.first_refresh_token())
        except (ValueError, KeyError, TypeError, AttributeError):
            raise MissingSecretError(f"the token file {self.path} is damaged; delete it to start again from the "
                                     "configured refresh token") from None

    def save(self, pair: TokenPair) -> None:
        times = {key: value.isoformat() for key, value in (("expires_at", pair.expires_at),
                                                           ("refresh_expires_at", pair.refresh_expires_at)) if value}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({**times, "access_token": pair.access_token, "refresh_token": pair.refresh_token}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def _moment(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
