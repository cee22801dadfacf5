"""Where credentials come from: a Prefect Secret block first, then an environment variable.

Secrets are handed to connectors as plain arguments and never logged, stored in cases or put in errors.
"""

from __future__ import annotations

import os

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
