"""The company config as the use cases read it: companies, their sources, ledger, mailboxes, rules and tables."""

from __future__ import annotations

import ssl
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.mailbox_config import MailboxConfig
from mappings.company_tables import MappingTables
from workorders.rules import RuleSettings

SANDBOX = "sandbox"


class ConfigError(Exception):
    """The config file is missing or says something Closeout cannot use; the message says where."""


class MissingSecretError(Exception):
    """A credential the config needs is in no credential block, environment variable or Prefect Secret block."""


CA_FILE_ENV = "CLOSEOUT_CA_FILE"
"""The environment variable naming the process-wide private CA: every TLS client (ledgers, API sources, IMAP)
whose config sets no ``ca_file`` of its own trusts it (``closeout.tls.ca_file_for``)."""


def check_ca_file(path: Path) -> Path:
    """``path`` if it is a readable PEM file holding at least one CA certificate, else ``ValueError`` in one line.

    Checked when the config is loaded (and ``CLOSEOUT_CA_FILE`` when the app opens), so a wrong path is a
    config error at start instead of a TLS failure on the first call to a ledger or a source, hours later.
    The file replaces the default trust store for that client: to trust public CAs too, put them in it.
    """
    if not path.is_file():
        raise ValueError(f"CA file {path} does not exist" if not path.exists() else f"CA file {path} is not a file")
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError:
        raise ValueError(f"CA file {path} holds no PEM certificate") from None
    except OSError as exc:
        raise ValueError(f"CA file {path} cannot be read: {exc.strerror or type(exc).__name__}") from None
    return path


CaFile = Annotated[Path | None, AfterValidator(lambda path: None if path is None else check_ca_file(path)),
                   Field(description="a PEM bundle of the CA(s) to trust instead of the system's (a private CA); "
                                     "unset: $CLOSEOUT_CA_FILE, else the default trust store")]
"""A ``ca_file`` setting: verification always stays on; this only chooses which authorities are trusted."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvSourceConfig(_Strict):
    """A CSV drop folder, and the limits it is read within (``connectors.csv_drop.CsvLimits``; README, "The CSV drop")."""

    kind: Literal["csv"]
    name: str = "csv"
    path: Path = Field(description="the drop folder; relative paths are relative to the config file")
    page_size: int = Field(default=100, ge=1, le=10_000, description="jobs per page; the cursor moves per page")
    max_rows_per_job: int = Field(default=1000, ge=1, description="a job with more rows is a case")
    page_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="bytes of rows per page, and per job")
    max_row_bytes: int = Field(default=1024 * 1024, ge=1024, description="a longer row is a case of its own")
    fallback_encoding: str = Field(default="cp1252", description='a row that is not UTF-8 is read in this; "" for none')
    settle_seconds: float = Field(default=60.0, ge=0, description="a last row without a line end waits this long")
    start: date | None = Field(default=None, description="the day this source's history starts for Closeout: the "
                               "first pull reads changes from it, and a job last changed before it is not billed")

    @field_validator("fallback_encoding")
    @classmethod
    def _ascii_compatible(cls, value: str) -> str:
        # Lines are split on the bytes of \r and \n before decoding: an encoding must write those, and CSV's
        # comma and quote, as ASCII does (UTF-16 does not).
        if value:
            try:
                if "\r\n,\"".encode(value) != b'\r\n,"':
                    raise LookupError(value)
            except LookupError:
                raise ValueError(f"{value!r} is not an encoding that writes ASCII as ASCII (like cp1252)") from None
        return value

    @model_validator(mode="after")
    def _row_fits_a_page(self) -> "CsvSourceConfig":
        if self.max_row_bytes > self.page_bytes:
            raise ValueError("max_row_bytes cannot be more than page_bytes: a page holds at least one row")
        return self


class JobberSourceConfig(_Strict):
    """Jobber GraphQL. Credentials are never in this file: ``{name}-client-id``, ``{name}-client-secret`` and
    the first ``{name}-refresh-token`` come from env vars or Prefect Secret blocks (``closeout.credentials.lookup``)."""

    kind: Literal["jobber"]
    name: str = Field(default="jobber", pattern=r"^[a-z0-9][a-z0-9-]*$")
    api_url: str = Field(default="https://api.getjobber.com", description="API root; a fake Jobber's URL for the demo")
    api_version: str = Field(default="2025-01-20", pattern=r"^\d{4}-\d{2}-\d{2}$",
                             description="pinned X-JOBBER-GRAPHQL-VERSION")
    page_size: int = Field(default=25, ge=1, le=100)
    overlap_minutes: int = Field(default=5, ge=0, description="re-read jobs this much older than the watermark")
    start: date | None = Field(default=None, description="the day this source's history starts for Closeout: the "
                               "first pull reads changes from it, and a job last changed before it is not billed")
    ca_file: CaFile = None


class HousecallProSourceConfig(_Strict):
    """Housecall Pro REST v1. ``{name}-api-key`` (and ``{name}-webhook-secret`` for webhooks) come from env vars
    or Prefect Secret blocks, never from this file."""

    kind: Literal["housecallpro"]
    name: str = Field(default="housecallpro", pattern=r"^[a-z0-9][a-z0-9-]*$")
    api_url: str = "https://api.housecallpro.com"
    page_size: int = Field(default=100, ge=1, le=200)
    overlap_minutes: int = Field(default=5, ge=0)
    start: date | None = Field(default=None, description="the day this source's history starts for Closeout: the "
                               "first pull reads changes from it, and a job last changed before it is not billed")
    ca_file: CaFile = None


class ServiceTitanSourceConfig(_Strict):
    """ServiceTitan REST v2 for one tenant. ``{name}-client-id``, ``{name}-client-secret`` and ``{name}-app-key``
    come from env vars or Prefect Secret blocks, never from this file."""

    kind: Literal["servicetitan"]
    name: str = Field(default="servicetitan", pattern=r"^[a-z0-9][a-z0-9-]*$")
    tenant: str = Field(pattern=r"^[0-9]+$", description="the tenant id")
    api_url: str = "https://api.servicetitan.io"
    auth_url: str = "https://auth.servicetitan.io"
    page_size: int = Field(default=50, ge=1, le=5000)
    start: date | None = Field(default=None, description="the day this source's history starts for Closeout: the "
                               "first pull reads changes from it, and a job last changed before it is not billed")
    ca_file: CaFile = None


SourceConfig = Annotated[
    CsvSourceConfig | JobberSourceConfig | HousecallProSourceConfig | ServiceTitanSourceConfig,
    Field(discriminator="kind"),
]
"""One source of a company, by ``kind``."""


class LedgerConfig(_Strict):
    """The company's ledger: QuickBooks Online (``realm_id``) or Xero (``tenant_id``)."""

    kind: Literal["quickbooks", "xero"] = "quickbooks"
    api_url: str = Field(default=SANDBOX, description='the API root, or "sandbox" for the local ledger sandbox')
    realm_id: str = Field(default="", description="QuickBooks company (realm) id; required when kind is quickbooks")
    tenant_id: str = Field(default="", description="Xero organisation (tenant) id; required when kind is xero")
    create_customers: bool = Field(default=False, description="create a customer the ledger does not know")
    line_amount_types: Literal["Exclusive", "Inclusive", "NoTax"] = Field(
        default="Exclusive", description="Xero: whether the jobs' unit prices exclude or include tax")
    invoice_status: Literal["DRAFT", "AUTHORISED"] = Field(
        default="AUTHORISED", description="Xero: the status new invoices get")
    timeout_seconds: float = Field(default=30.0, gt=0, description="how long one ledger call may take")
    send_to_customer: bool = Field(
        default=False, description="e-mail each new invoice to the customer's billing e-mail through the ledger")
    credentials: Literal["file", "prefect"] = Field(
        default="file", description='where the OAuth pair lives: "file" (0600, in the workspace; client id/secret and '
        'the first refresh token from env or Prefect Secret) or "prefect" (the <company>-<kind> credentials block)')
    token_url: str = Field(default="", description="the OAuth token endpoint; empty: Intuit's (via its discovery "
                                                   "document) or Xero's; the sandbox's for a sandbox ledger")
    refresh_warning_days: int = Field(default=14, ge=0, description="open a ledger_token_expiring case this many "
                                                                    "days before the refresh token ends")
    tax_tolerance: Decimal = Field(default=Decimal("0.05"), ge=0, description="open a tax_mismatch case when the "
                                   "tax the ledger computed differs from the source's by more than this")
    multicurrency: bool = Field(default=False, description="the ledger has multi-currency on: jobs in another "
                                "currency than the company's are invoiced in theirs")
    adopt_existing: bool = Field(default=False, description="before creating an invoice, look for one the ledger "
                                 "already has with its doc number (made by hand before Closeout) and adopt it when "
                                 "the amount agrees: one look-up call per batch; for the first runs beside old books")
    push: bool = Field(default=True, description="false: a dry run; everything but writing to the ledger, and the "
                       "run summary and `closeout preview` show what would have been sent")
    ca_file: CaFile = None

    @property
    def amounts_include_tax(self) -> bool:
        """Whether a draft's lines add up to the ledger's total (Xero Inclusive) rather than its subtotal."""
        return self.kind == "xero" and self.line_amount_types == "Inclusive"

    @model_validator(mode="after")
    def _names_its_company(self) -> "LedgerConfig":
        if self.kind == "quickbooks" and not self.realm_id:
            raise ValueError("realm_id is required for a quickbooks ledger")
        if self.kind == "xero" and not self.tenant_id:
            raise ValueError("tenant_id is required for a xero ledger")
        return self

    @property
    def uses_sandbox(self) -> bool:
        return self.api_url == SANDBOX


class CorrectionPolicy(_Strict):
    """Which corrections after invoicing Closeout applies by itself (``services.corrections``); the rest wait for
    a coordinator's decision on their ``changed_after_invoiced`` case."""

    apply: Literal["never", "amendments", "all"] = Field(
        default="never", description="never: every correction waits for a person; amendments: an unpaid invoice "
        "is updated in place by itself; all: voids, credit notes and supplementary invoices too")
    up_to: Decimal | None = Field(default=None, ge=0, description="only when the invoice's amount before tax "
                                  "changes by at most this much (any amount when unset)")


class NotifyConfig(_Strict):
    """How a company's people are told (``services.notify``): e-mail over SMTP and/or a chat webhook.

    The SMTP password and the webhook URL are secrets, read like every other one (``closeout.credentials``):
    ``CLOSEOUT_SMTP_PASSWORD_<COMPANY>`` / ``CLOSEOUT_NOTIFY_WEBHOOK_<COMPANY>`` or their Prefect Secret blocks.
    """

    smtp_host: str = Field(default="", description="the SMTP server; empty: no e-mail is sent")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="587 for starttls, 465 for tls")
    smtp_security: Literal["starttls", "tls", "plain"] = Field(
        default="starttls", description="starttls, tls (implicit, port 465), or plain (only to 127.0.0.1)")
    smtp_username: str = Field(default="", description="the login; empty: the server takes mail without one")
    sender: str = Field(default="", description="the From address of every notification e-mail")
    reply_to: str = Field(default="", description="where customers answer a request for a sign-off or photos: the "
                          "address of a mailbox Closeout reads (empty: their replies go to sender)")
    webhook: bool = Field(default=False, description="also post high-severity cases to the company's incoming "
                          "webhook (its URL is the secret notify-webhook)")
    on_call: str = Field(default="", description="the address told at once of every new high-severity case")
    sla_hours: int = Field(default=24, ge=1, description="an unassigned case older than this is in the daily digest")
    ca_file: CaFile = None

    @model_validator(mode="after")
    def _complete(self) -> "NotifyConfig":
        if self.smtp_host and "@" not in self.sender:
            raise ValueError("notify: sender (the From address) is required with smtp_host")
        if self.smtp_security == "plain" and self.smtp_host and self.smtp_host not in ("127.0.0.1", "::1",
                                                                                        "localhost"):
            raise ValueError("notify: smtp_security 'plain' is only for a server on this machine (127.0.0.1)")
        if self.reply_to and "@" not in self.reply_to:
            raise ValueError("notify: reply_to is an e-mail address")
        if self.on_call and "@" not in self.on_call:
            raise ValueError("notify: on_call is an e-mail address")
        return self


class CompanyConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    timezone: str = "UTC"
    currency: str = "USD"
    ledger: LedgerConfig
    sources: tuple[SourceConfig, ...] = ()
    mailboxes: tuple[MailboxConfig, ...] = ()
    rules: RuleSettings = RuleSettings()
    mappings: MappingTables = MappingTables()
    corrections: CorrectionPolicy = CorrectionPolicy()
    notify: NotifyConfig | None = None
    retention_days: int | None = Field(default=None, ge=1, description="drop this company's raw payloads, raw mail "
                                       "and attachments this many days after they arrived, once nothing unfinished "
                                       "needs them (over the top-level retention_days; unset: that one, else never)")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class UserConfig(_Strict):
    """A queue user kept in the config: synced into the store when `closeout ui` starts. Never a plain password."""

    username: str
    role: Literal["viewer", "coordinator", "finance", "admin"] = "coordinator"
    password_hash: str = Field(description="from `closeout users hash`: scrypt$N$r$p$salt$hash")
    email: str | None = Field(default=None, description="where notifications to this user go (services.notify)")
    companies: tuple[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")], ...] | None = Field(
        default=None, max_length=100, description="the company ids whose cases this user sees and decides; [] every "
                                                  "company's; unset: kept as the store has it")

    @model_validator(mode="before")
    @classmethod
    def _no_plain_password(cls, data):
        if isinstance(data, dict) and "password" in data:
            raise ValueError("a plain password does not belong in the config: put the password_hash that "
                             "`closeout users hash` prints instead")
        return data

    @field_validator("password_hash")
    @classmethod
    def _looks_like_scrypt(cls, value: str) -> str:
        parts = value.split("$")
        if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isdigit() for p in parts[1:4]):
            raise ValueError("not a password hash from `closeout users hash` (scrypt$N$r$p$salt$hash)")
        return value


class CloseoutConfig(_Strict):
    companies: tuple[CompanyConfig, ...]
    users: tuple[UserConfig, ...] = ()
    retention_days: int | None = Field(default=None, ge=1, description="every company's retention unless it sets its "
                                       "own (services.retention); unset: raw payloads, mail and attachments are kept "
                                       "forever")

    @model_validator(mode="after")
    def _users_name_companies_of_the_config(self) -> CloseoutConfig:
        known = {company.id for company in self.companies}
        for person in self.users:
            unknown = [company for company in person.companies or () if company not in known]
            if unknown:
                raise ValueError(f"users: {person.username!r} names no company of the config: {', '.join(unknown)}")
        return self

    def company(self, company_id: str) -> CompanyConfig:
        for company in self.companies:
            if company.id == company_id:
                return company
        raise ConfigError(f"no company {company_id!r} in the config")
