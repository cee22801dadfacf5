"""The ``[[companies.mailboxes]]`` config: which mailboxes to read, how, and how to place their messages."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mappings.mail_match import DEFAULT_JOB_PATTERNS


class MailboxConfig(BaseModel):
    """One mailbox. The password is never here: secret ``imap-password-{name}`` (env var or Prefect Secret block)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["imap", "maildir", "mbox"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    path: Path | None = Field(default=None, description="Maildir folder or mbox file (kind maildir / mbox)")
    host: str = ""
    port: int | None = None
    username: str = ""
    security: Literal["ssl", "starttls", "plaintext"] = Field(
        default="ssl", description='TLS by default; "plaintext" only when you mean it')
    ca_file: Path | None = Field(default=None, description="a CA bundle for a private certificate authority")
    folders: tuple[str, ...] = ("INBOX",)
    move_processed_to: str | None = Field(default=None, description="move committed messages to this folder")
    connect_timeout: float = Field(default=10, gt=0)
    read_timeout: float = Field(default=30, gt=0)
    batch_size: int = Field(default=100, ge=1, le=1000)
    max_attachment_bytes: int = Field(default=20_000_000, ge=1)
    job_number_patterns: tuple[str, ...] = DEFAULT_JOB_PATTERNS
    stall_after_minutes: int = Field(default=120, ge=1, description="no successful read for this long opens a case")

    @model_validator(mode="after")
    def _complete(self) -> "MailboxConfig":
        if self.kind == "imap" and not (self.host and self.username):
            raise ValueError("an imap mailbox needs host and username")
        if self.kind != "imap" and self.path is None:
            raise ValueError(f"a {self.kind} mailbox needs path")
        return self

    @property
    def imap_port(self) -> int:
        return self.port or (993 if self.security == "ssl" else 143)
