"""Where credentials come from: a credential block, an environment variable, then a Prefect Secret block.

Secrets are handed to connectors as plain arguments and never logged, stored in cases or put in errors.
"""

from __future__ import annotations

import os

from closeout.credentials.blocks import block_document_name, credential_fields
from closeout.orchestration.prefect_api import prefect_api_configured
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
