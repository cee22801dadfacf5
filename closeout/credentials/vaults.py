"""Token vaults: where an OAuth connection's current pair lives, a credential block or a 0600 file in the workspace.

A vault's ``save`` is durable when it returns: the ledger uses a new access token only after that, because
the refresh that produced it may have made the old refresh token worthless (Intuit, Xero: rotation).
``closeout connect`` saves the first pair into the same vault; ``closeout disconnect`` calls ``remove``, after
which ``load`` refuses (MissingSecretError naming `closeout connect`) instead of falling back to a configured
first refresh token or the sandbox's grant: a disconnected company stays disconnected until it is connected again.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
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
    """The pair in a QuickBooksCredentials / XeroCredentials block (shared by workers on any machine).

    ``new_client`` (client id, secret) lets ``save`` create the block when it is not there yet: the first
    connection of a company whose client credentials came from the environment or a Secret block. ``fields``
    (``realm_id``, ``tenant_id``) are written with every pair. An empty refresh token is a disconnected block.
    """

    def __init__(self, block_type: type[LedgerCredentials], name: str, *,
                 new_client: tuple[str, str] | None = None, fields: dict[str, str] | None = None) -> None:
        self.block_type, self.name = block_type, name
        self._new_client, self._fields = new_client, dict(fields or {})

    def __repr__(self) -> str:
        return f"BlockTokenVault({self.block_type.get_block_type_slug()}/{self.name})"

    def describe(self) -> str:
        return f"the Prefect block {self.block_type.get_block_type_slug()}/{self.name}"

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
        pair = self.stored()
        if pair is None:
            raise MissingSecretError(f"{self.describe()} holds no tokens (disconnected): connect again with "
                                     "`closeout connect`")
        return pair

    def stored(self) -> TokenPair | None:
        """The pair in the block, or None when the block is missing or disconnected."""
        try:
            block = self.block()
        except MissingSecretError:
            return None
        if not _secret(block.refresh_token):
            return None
        return TokenPair(access_token=_secret(block.access_token), refresh_token=_secret(block.refresh_token),
                         expires_at=block.expires_at, refresh_expires_at=block.refresh_expires_at)

    def save(self, pair: TokenPair) -> None:
        try:
            block = self.block()
        except MissingSecretError:
            if self._new_client is None:
                raise
            client_id, client_secret = self._new_client
            block = self.block_type(client_id=SecretStr(client_id), client_secret=SecretStr(client_secret),
                                    refresh_token=SecretStr(pair.refresh_token))
        block.access_token, block.refresh_token = SecretStr(pair.access_token), SecretStr(pair.refresh_token)
        block.expires_at, block.refresh_expires_at = pair.expires_at, pair.refresh_expires_at
        for name, value in self._fields.items():
            setattr(block, name, value)
        block.save(self.name, overwrite=True)

    def remove(self) -> None:
        """Forget the pair (the app's client id and secret stay in the block for the next connection)."""
        block = self.block()
        block.access_token, block.refresh_token = None, SecretStr("")
        block.expires_at = block.refresh_expires_at = None
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

    def describe(self) -> str:
        return f"the workspace file {self.path}"

    def _read(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            raise MissingSecretError(f"the token file {self.path} is damaged; delete it to start again from the "
                                     "configured refresh token") from None
        if not isinstance(data, dict):
            raise MissingSecretError(f"the token file {self.path} is damaged; delete it to start again from the "
                                     "configured refresh token")
        return data

    def load(self) -> TokenPair:
        data = self._read()
        if data is None:
            return TokenPair(access_token="", refresh_token=self.first_refresh_token())
        if "disconnected_at" in data:
            raise MissingSecretError(f"the connection in {self.path.name} was disconnected at "
                                     f"{data['disconnected_at']}: connect it again with `closeout connect`")
        try:
            return TokenPair(access_token=str(data["access_token"]), refresh_token=str(data["refresh_token"]),
                             expires_at=_moment(data.get("expires_at")),
                             refresh_expires_at=_moment(data.get("refresh_expires_at")))
        except (KeyError, TypeError, AttributeError):
            raise MissingSecretError(f"the token file {self.path} is damaged; delete it to start again from the "
                                     "configured refresh token") from None

    def stored(self) -> TokenPair | None:
        """The pair the file holds, or None when there is no file or it was disconnected (no first-token fallback)."""
        data = self._read()
        if data is None or "disconnected_at" in data:
            return None
        return self.load()

    def save(self, pair: TokenPair) -> None:
        times = {key: value.isoformat() for key, value in (("expires_at", pair.expires_at),
                                                           ("refresh_expires_at", pair.refresh_expires_at)) if value}
        self._write({**times, "access_token": pair.access_token, "refresh_token": pair.refresh_token})

    def remove(self) -> None:
        """Replace the pair by a note of the disconnection, so ``load`` refuses until the next ``save``."""
        self._write({"disconnected_at": datetime.now(UTC).isoformat(timespec="seconds")})

    def _write(self, content: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(content, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def _moment(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
