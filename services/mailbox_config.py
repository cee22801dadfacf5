"""The ``[[companies.mailboxes]]`` config: which mailboxes to read, how, and how to place their messages."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mappings.mail_match import DEFAULT_JOB_PATTERNS
from mappings.mail_provenance import ProvenancePolicy, staff_entry

MIN_BATCH_BYTES = 1_000_000
"""Below this a batch bound would only turn every message into a batch (and a commit) of its own."""


class MailboxConfig(BaseModel):
    """One mailbox. The password is never here: secret ``imap-password-{name}`` (env var or Prefect Secret block);
    with ``auth = "oauth2"`` the app's ``imap-client-id-{name}`` / ``imap-client-secret-{name}`` and the tokens
    ``closeout connect mailbox`` stores in the workspace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["imap", "maildir", "mbox"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    path: Path | None = Field(default=None, description="Maildir folder or mbox file (kind maildir / mbox)")
    host: str = ""
    port: int | None = None
    username: str = ""
    security: Literal["ssl", "starttls", "plaintext"] = Field(
        default="ssl", description='TLS by default; "plaintext" only when you mean it')
    auth: Literal["password", "oauth2"] = Field(default="password", description=(
        'how Closeout signs in: "password" (secret imap-password-<name>) or "oauth2" (tokens from '
        '`closeout connect mailbox`, refreshed like the ledgers\' ones)'))
    oauth_provider: Literal["microsoft", "google"] | None = Field(default=None, description=(
        "auth = oauth2: whose sign-in (Microsoft 365 / Exchange Online, or Google Workspace / Gmail)"))
    oauth_mechanism: Literal["XOAUTH2", "OAUTHBEARER"] = Field(default="XOAUTH2", description=(
        "the SASL mechanism: XOAUTH2 (Microsoft and Google), or OAUTHBEARER (RFC 7628: Google)"))
    oauth_tenant: str = Field(default="organizations", pattern=r"^[A-Za-z0-9.-]{1,100}$", description=(
        "microsoft: the directory (tenant) id or domain the app is registered in; organizations: any work account"))
    oauth_url: str = Field(default="", max_length=200, description=(
        '"" the provider\'s own sign-in endpoints; "sandbox" Closeout\'s local imitation; else another root '
        "of the same endpoints (a national cloud: https://login.microsoftonline.us)"))
    oauth_scope: str = Field(default="", max_length=500, description=(
        "the scopes to ask for, space-separated; default: the provider's IMAP scope (and offline_access)"))
    ca_file: Path | None = Field(default=None, description="a CA bundle for a private certificate authority")
    folders: tuple[str, ...] = ("INBOX",)
    move_processed_to: str | None = Field(default=None, description="move committed messages to this folder")
    connect_timeout: float = Field(default=10, gt=0)
    read_timeout: float = Field(default=30, gt=0)
    batch_size: int = Field(default=100, ge=1, le=1000)
    max_attachment_bytes: int = Field(default=20_000_000, ge=1)
    max_message_bytes: int = Field(default=50_000_000, ge=1, description=(
        "a bigger message is not read whole: its headers are kept and a case says so"))
    max_batch_bytes: int = Field(default=64_000_000, ge=MIN_BATCH_BYTES, description=(
        "a batch holds messages up to this many bytes (at least one message)"))
    staff_addresses: tuple[str, ...] = Field(default=(), description=(
        "the company's staff: addresses (dana@acme.example) or domains (@acme.example) whose photos and "
        "signatures count on any job"))
    auth_results: Literal["require_pass", "reject_fail", "ignore"] = Field(default="reject_fail", description=(
        "what the receiving server's SPF/DKIM/DMARC verdict must be for mail evidence to count"))
    trusted_authserv_ids: tuple[str, ...] = Field(default=(), description=(
        "the authserv-ids of the servers whose Authentication-Results are read; any other is ignored"))
    job_number_patterns: tuple[str, ...] = DEFAULT_JOB_PATTERNS
    stall_after_minutes: int = Field(default=120, ge=1, description="no successful read for this long opens a case")

    @field_validator("staff_addresses")
    @classmethod
    def _staff(cls, entries: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(dict.fromkeys(staff_entry(entry) for entry in entries))
        except ValueError as exc:
            raise ValueError(f"staff_addresses: {exc}") from None

    @field_validator("trusted_authserv_ids")
    @classmethod
    def _authserv_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(i.strip().lower() for i in ids))
        if any(not i or any(c.isspace() or c in ";()" for c in i) for i in cleaned):
            raise ValueError("trusted_authserv_ids: each is a server name as it writes it, e.g. mx.acme.example")
        return cleaned

    def provenance_policy(self) -> ProvenancePolicy:
        """Who this mailbox's mail may speak for, and which receiving servers' verdicts are read."""
        return ProvenancePolicy(auth_results=self.auth_results, trusted_authserv_ids=self.trusted_authserv_ids,
                                staff_addresses=self.staff_addresses)

    @model_validator(mode="after")
    def _complete(self) -> "MailboxConfig":
        if self.kind == "imap" and not (self.host and self.username):
            raise ValueError("an imap mailbox needs host and username")
        if self.kind != "imap" and self.path is None:
            raise ValueError(f"a {self.kind} mailbox needs path")
        if self.auth == "oauth2" and (self.kind != "imap" or self.oauth_provider is None):
            raise ValueError('auth = "oauth2" is for an imap mailbox and needs oauth_provider = "microsoft" or '
                             '"google"')
        if self.oauth_url not in ("", "sandbox") and not self.oauth_url.startswith("https://"):
            raise ValueError('oauth_url is "sandbox" or an https:// root of the provider\'s sign-in endpoints')
        return self

    @property
    def imap_port(self) -> int:
        return self.port or (993 if self.security == "ssl" else 143)
