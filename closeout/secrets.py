"""Where credentials come from: a credential block, an environment variable, then a Prefect Secret block.

Secrets are handed to connectors as plain arguments and never logged, stored in cases or put in errors.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

from closeout.credential_blocks import block_document_name, credential_fields
from closeout.prefect_api import prefect_api_configured
from connectors.jobber import OAuthTokens
from services.config import MissingSecretError

SANDBOX_ACCESS_TOKEN = "sandbox-access-token"


def env_name(kind: str, company: str) -> str:
    return f"CLOSEOUT_{kind}_{company}".upper().replace("-", "_")


def read_secret(kind: str, company: str, *, system: str | None = None) -> str:
    """The secret ``kind`` (e.g. ``jobber-client-id``) of a company; the error names every place it looked.

    With a Prefect API configured, the matching credential block field comes first (``closeout setup`` makes
    them; ``system`` is the source kind or ``imap``), then the environment variable (the development
    fallback), then the Prefect Secret block ``<kind>-<company>``. Without an API the environment comes first,
    so development needs no Prefect server.
    """
    variable = env_name(kind, company)
    fields = credential_fields(kind, company, system=system)
    looked: list[str] = []
    api = prefect_api_configured()
    if api and (value := _from_blocks(fields, looked)):
        return value
    if os.environ.get(variable):
        return os.environ[variable]
    looked.append(f"the environment variable {variable}")
    if not api and (value := _from_blocks(fields, looked)):
        return value
    secret = block_document_name(kind, company)
    try:
        from prefect.blocks.system import Secret

        return Secret.load(secret, _sync=True).get()
    except Exception:  # noqa: BLE001 - any failure to load means "not there"; say where we looked
        looked.append(f"the Prefect Secret block {secret!r}")
    raise MissingSecretError(f"no {kind} for company {company!r}: looked in " + ", ".join(looked)
                             + " (`closeout setup` creates the blocks)")


def _from_blocks(fields, looked: list[str]) -> str | None:
    for field in fields:
        try:
            value = field.read()
        except Exception as exc:  # noqa: BLE001 - an unreachable API is one more place we could not read
            looked.append(f"{field.describe()} (unreadable: {type(exc).__name__})")
            continue
        if value:
            return value
        looked.append(field.describe())
    return None


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

    def load_extra(self) -> dict[str, str]:
        """The fields saved beside the pair (``save(..., **extra)``, e.g. expiry times); {} before the first save."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return {key: str(value) for key, value in data.items() if key not in ("access_token", "refresh_token")}

    def save(self, tokens: OAuthTokens, **extra: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # one temporary file per writer: two processes refreshing at once must not rename each other's file away
        temporary = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({**extra, "access_token": tokens.access_token, "refresh_token": tokens.refresh_token}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
