"""Source and mailbox credentials as Prefect blocks (SecretStr fields), named ``<company>-<source or mailbox>``.

The ledger blocks (``QuickBooksCredentials``, ``XeroCredentials``) live in ``closeout.credentials.vaults``
with their token refresh; ``all_block_types`` loads them lazily so this module works without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from prefect.blocks.core import Block
from pydantic import Field, SecretStr


class _SourceCredentials(Block):
    """Shared behaviour: which secret names (``closeout.credentials.lookup`` kinds) map to which field."""

    system: ClassVar[str] = ""

    @classmethod
    def secret_kind(cls, field: str, name: str) -> str:
        """The ``read_secret`` kind of ``field`` for the source named ``name`` (``jobber-client-id``)."""
        return f"{name}-{field.replace('_', '-')}"

    @classmethod
    def parse_secret_kind(cls, kind: str) -> tuple[str, str] | None:
        """``(source or mailbox name, field)`` when ``kind`` names one of this block's fields, else None."""
        for field in cls.model_fields:
            suffix = "-" + field.replace("_", "-")
            if kind.endswith(suffix) and len(kind) > len(suffix):
                return kind[: -len(suffix)], field
        return None


class JobberCredentials(_SourceCredentials):
    """The OAuth app of a Jobber account and the first refresh token (rotated ones live in the workspace)."""

    _block_type_name = "Closeout Jobber Credentials"
    _block_type_slug = "closeout-jobber-credentials"
    system: ClassVar[str] = "jobber"

    client_id: str = Field(description="the Jobber app's client id")
    client_secret: SecretStr = Field(description="the Jobber app's client secret (also signs webhooks)")
    refresh_token: SecretStr = Field(description="the first refresh token; Closeout keeps the rotated ones")


class ServiceTitanCredentials(_SourceCredentials):
    """A ServiceTitan app's client credentials and its app key, for one tenant."""

    _block_type_name = "Closeout ServiceTitan Credentials"
    _block_type_slug = "closeout-servicetitan-credentials"
    system: ClassVar[str] = "servicetitan"

    client_id: str = Field(description="the app's client id")
    client_secret: SecretStr = Field(description="the app's client secret")
    app_key: SecretStr = Field(description="the ST-App-Key of the app")


class HousecallProCredentials(_SourceCredentials):
    """A Housecall Pro API key, and the webhook signing secret when webhooks are used."""

    _block_type_name = "Closeout Housecall Pro Credentials"
    _block_type_slug = "closeout-housecallpro-credentials"
    system: ClassVar[str] = "housecallpro"

    api_key: SecretStr = Field(description="the company's API key")
    webhook_secret: SecretStr | None = Field(default=None, description="signs webhooks (Api-Signature)")


class ImapCredentials(_SourceCredentials):
    """The password of one IMAP mailbox (host and username are in the config)."""

    _block_type_name = "Closeout IMAP Credentials"
    _block_type_slug = "closeout-imap-credentials"
    system: ClassVar[str] = "imap"

    password: SecretStr = Field(description="the mailbox password or app password")

    @classmethod
    def secret_kind(cls, field: str, name: str) -> str:
        return f"imap-{field.replace('_', '-')}-{name}"

    @classmethod
    def parse_secret_kind(cls, kind: str) -> tuple[str, str] | None:
        for field in cls.model_fields:
            prefix = f"imap-{field.replace('_', '-')}-"
            if kind.startswith(prefix) and len(kind) > len(prefix):
                return kind[len(prefix):], field
        return None


SOURCE_BLOCKS: dict[str, type[_SourceCredentials]] = {
    cls.system: cls for cls in (JobberCredentials, ServiceTitanCredentials, HousecallProCredentials, ImapCredentials)
}
"""Source kind (or ``imap``) → its credential block type."""


LEDGER_SECRET_PREFIX = {"quickbooks": "qbo", "xero": "xero"}
"""Ledger kind → the prefix of its secrets' names (``qbo-access-token``)."""


class LedgerCredentials(Block):
    """An OAuth app's client credentials and the company's current token pair (Closeout rewrites the pair)."""

    client_id: SecretStr = Field(description="the OAuth app's client id")
    client_secret: SecretStr = Field(description="the OAuth app's client secret")
    refresh_token: SecretStr = Field(description="the current refresh token (the first one from connecting)")
    access_token: SecretStr | None = Field(default=None, description="the current access token; Closeout fills it")
    expires_at: datetime | None = Field(default=None, description="when the access token ends")
    refresh_expires_at: datetime | None = Field(default=None, description="when the refresh token ends, if known")


class QuickBooksCredentials(LedgerCredentials):
    """An Intuit app and one QuickBooks Online company's tokens (access 1 hour, refresh 100 days rolling)."""

    _block_type_name = "Closeout QuickBooks Credentials"
    _block_type_slug = "closeout-quickbooks-credentials"

    realm_id: str = Field(default="", description="the QuickBooks company (realm) id, as in the config")


class XeroCredentials(LedgerCredentials):
    """A Xero app and one organisation's tokens (access 30 minutes, single-use refresh tokens)."""

    _block_type_name = "Closeout Xero Credentials"
    _block_type_slug = "closeout-xero-credentials"

    tenant_id: str = Field(default="", description="the Xero organisation (tenant) id, as in the config")


LEDGER_BLOCKS: dict[str, type[LedgerCredentials]] = {"quickbooks": QuickBooksCredentials, "xero": XeroCredentials}
"""Ledger kind → its credential block type."""


def all_block_types() -> list[type[Block]]:
    """Every credential block type ``closeout setup`` registers: the four here and the two ledger ones."""
    return [*SOURCE_BLOCKS.values(), *LEDGER_BLOCKS.values()]


def block_document_name(*parts: str) -> str:
    """The one naming rule of every block document Closeout reads: the parts joined by dashes, lowercase, no
    underscores (``<company>-<source, mailbox or ledger kind>`` for credentials, ``<secret>-<company>`` for a
    Secret block)."""
    return "-".join(parts).lower().replace("_", "-")


@dataclass(frozen=True)
class CredentialField:
    """One field of one named credential block: where ``read_secret`` looks first."""

    block_type: type[Block]
    block_name: str
    field: str

    def describe(self) -> str:
        return f"the Prefect block {self.block_type.get_block_type_slug()}/{self.block_name} (field {self.field})"

    def read(self) -> str | None:
        """The field's value, or None when the block or the field is not there. Raises when the API fails."""
        try:
            block = self.block_type.load(self.block_name, _sync=True)  # sync even when called from async code
        except ValueError:  # Prefect's "Unable to find block document named ..."
            return None
        return plain_value(getattr(block, self.field, None))


def plain_value(value: Any) -> str | None:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return str(value) if value not in (None, "") else None


def credential_fields(kind: str, company: str, *, system: str | None = None) -> list[CredentialField]:
    """The block fields that may hold the secret ``kind`` of ``company``; several when ``system`` is unknown.

    ``system`` is the source kind (``jobber``...) or ``imap``; without it a source named like its kind
    (the default) decides, and otherwise every block type with such a field is a candidate. Ledger secrets
    (``qbo-client-id``, ``xero-refresh-token``...) map to the ``<company>-<quickbooks|xero>`` ledger block.
    """
    for ledger, prefix in LEDGER_SECRET_PREFIX.items():
        if system in (None, ledger) and kind.startswith(prefix + "-"):
            block_type = LEDGER_BLOCKS.get(ledger)
            field = kind[len(prefix) + 1:].replace("-", "_")
            if block_type is not None and field in block_type.model_fields:
                return [CredentialField(block_type, block_document_name(company, ledger), field)]
            return []
    candidates = [SOURCE_BLOCKS[system]] if system in SOURCE_BLOCKS else list(SOURCE_BLOCKS.values())
    found = []
    for cls in candidates:
        parsed = cls.parse_secret_kind(kind)
        if parsed is not None:
            found.append(CredentialField(cls, block_document_name(company, parsed[0]), parsed[1]))
    named_like_kind = [ref for ref in found if ref.block_name == block_document_name(company, ref.block_type.system)]
    return named_like_kind or found
