"""Where credentials come from: a Prefect Secret block first, then an environment variable.

Secrets are handed to connectors as plain arguments and never logged, stored in cases or put in errors.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from connectors.jobber import OAuthTokens

SANDBOX_ACCESS_TOKEN = "sandbox-access-token"


class MissingSecretError(Exception):
    """A credential the config needs is in neither a Prefect Secret block nor the environment."""


def env_name(kind: str, company: str) -> str:
    return f"CLOSEOUT_{kind}_{company}".upper().replace("-", "_")


def block_name(kind: str, company: str) -> str:
    return f"{kind}-{company}".lower().replace("_", "-")


def read_secret(kind: str, company: str) -> str:
    """The secret ``kind`` (e.g. ``qbo-access-token``) of a company; the error names where it was looked for."""
    variable = env_name(kind, company)
    if os.environ.get(variable):
        return os.environ[variable]
    block = block_name(kind, company)
    try:
        from prefect.blocks.system import Secret

        return Secret.load(block).get()
    except Exception:  # noqa: BLE001 - any failure to load means "not there"; say where we looked
        raise MissingSecretError(
            f"no {kind} for company {company!r}: set the environment variable {variable} "
            f"or create the Prefect Secret block {block!r}"
        ) from None


class FileTokenStore:
    """The current OAuth pair of one source, kept in a 0600 JSON file in the workspace.

    Jobber rotates refresh tokens and invalidates the old one at once, so the store must be writable and
    durable: ``save`` writes a temporary file (0600), fsyncs it and renames it over the old one before the
    connector uses the new access token. Before the first refresh the pair is the refresh token the user
    provided (env var or Prefect Secret block, ``first_refresh_token``) and no access token.
    One machine only: workers on several machines need a shared store (a Prefect block); not built yet.
    """

    def __init__(self, path: Path, *, first_refresh_token: Callable[[], str]) -> None:
        self.path = path
        self._first = first_refresh_token

    def load(self) -> OAuthTokens:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return OAuthTokens(access_token=str(data["access_token"]), refresh_token=str(data["refresh_token"]))
        except FileNotFoundError:
            return OAuthTokens(access_token="", refresh_token=self._first())
        except (ValueError, KeyError, TypeError):
            raise MissingSecretError(f"the token file {self.path} is damaged; delete it to start again from the "
                                     "configured refresh token") from None

    def save(self, tokens: OAuthTokens) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
