"""The composition root: settings and config in, a ready store, sources and ledgers out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from closeout.config import load_config

from services.config import (

    CloseoutConfig, CompanyConfig, ConfigError, CsvSourceConfig, HousecallProSourceConfig, JobberSourceConfig, ServiceTitanSourceConfig, SourceConfig,

)
from closeout.credentials.blocks import LEDGER_SECRET_PREFIX
from closeout.credentials.ledger_tokens import ledger_token_provider
from closeout.credentials.mailbox_tokens import MailboxTokens, mailbox_token_provider
from closeout.orchestration.pacing import CompanyPacer
from closeout.credentials.lookup import SANDBOX_ACCESS_TOKEN, read_secret
from closeout.credentials.vaults import FileTokenVault
from closeout.settings import Settings
from closeout.tls import ca_file_for
from closeout.workspace import keep_private
from services.mailbox_config import MailboxConfig
from connectors.csv_drop import CsvDropSource
from connectors.housecallpro import HousecallProSource
from connectors.imap_inbox import ImapInbox
from connectors.jobber import JobberSource
from connectors.oauth import TokenProvider
from connectors.maildir_inbox import MaildirInbox
from connectors.servicetitan import ServiceTitanSource
from connectors.source_http import verify_for
from connectors.qbo import QuickBooksLedger
from connectors.xero import XeroLedger
from mappings.csv_drop import map_csv_job
from mappings.housecallpro import map_housecallpro_job
from mappings.jobber import map_jobber_job
from mappings.servicetitan import map_servicetitan_job
from sandbox.server import running_sandbox
from storage import SqlStore, open_store

MAPPERS: dict[str, Callable[..., Any]] = {
    "csv": map_csv_job, "jobber": map_jobber_job, "housecallpro": map_housecallpro_job,
    "servicetitan": map_servicetitan_job,
}
"""Source kind → pure mapping from its raw payload to a WorkOrder or an Anomaly."""


@dataclass
class App:
    """Everything a run needs, built once per process and closed at its end: ``services.runtime.Runtime``."""

    settings: Settings
    config: CloseoutConfig
    store: SqlStore
    home: Path
    sandbox_url: str | None = None
    _ledgers: dict[str, QuickBooksLedger | XeroLedger] = field(default_factory=dict)
    customer_refs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per company, the ledger customer each ``name|email`` resolved to in this run (push looks each up once)."""
    _mail_tokens: dict[tuple[str, str], MailboxTokens] = field(default_factory=dict)

    def companies(self) -> tuple[CompanyConfig, ...]:
        return self.config.companies

    def ledger_for(self, company: CompanyConfig) -> QuickBooksLedger | XeroLedger:
        if company.id not in self._ledgers:
            tokens = ledger_token_provider(company, home=self.home, store=self.store, sandbox_url=self.sandbox_url)
            self._ledgers[company.id] = build_ledger(company, sandbox_url=self.sandbox_url, token_provider=tokens)
        return self._ledgers[company.id]

    def source_for(self, source: SourceConfig, company: CompanyConfig | None = None) -> Any:
        """The connector for a configured source; API sources need their company (for credentials)."""
        if company is None and not isinstance(source, CsvSourceConfig):
            raise ConfigError(f"source {source.name!r} needs its company to read credentials")
        return SOURCE_BUILDERS[source.kind](source, company, home=self.home)

    def api_source_for(self, source: SourceConfig, company: CompanyConfig) -> Any:
        """The connector of a source behind an API; a CSV drop has no API to fetch one job from or check."""
        if isinstance(source, CsvSourceConfig):
            raise ConfigError(f"source {source.name!r} is a CSV drop: it has no API to fetch a job from or check")
        return self.source_for(source, company)

    def map_payload(self, kind: str, payload: dict, company: CompanyConfig) -> Any:
        # API payloads carry no currency: it is the company's, from config (CSV rows state their own).
        extra = {} if kind == "csv" else {"currency": company.currency}
        return MAPPERS[kind](payload, company=company.id, default_timezone=company.timezone, **extra)

    def inbox_for(self, company: CompanyConfig, mailbox: MailboxConfig) -> ImapInbox | MaildirInbox:
        tokens = None
        if mailbox.kind == "imap" and mailbox.auth == "oauth2":  # one provider per mailbox: its token stays cached
            key = (company.id, mailbox.name)
            if key not in self._mail_tokens:
                self._mail_tokens[key] = mailbox_token_provider(company, mailbox, home=self.home, store=self.store,
                                                                sandbox_url=self.sandbox_url)
            tokens = self._mail_tokens[key]
        return build_inbox(company, mailbox, token_provider=tokens)

    def pacer_for(self, company: CompanyConfig) -> CompanyPacer:
        return CompanyPacer(company.ledger)

    def ledger_token_expiry(self, company: CompanyConfig) -> datetime | None:
        """When the company's ledger refresh token ends, as its token vault knows it (None: not known)."""
        try:
            provider = ledger_token_provider(company, home=self.home, store=self.store, sandbox_url=self.sandbox_url)
            expires = provider.vault.load().refresh_expires_at
        except Exception:  # noqa: BLE001 - no vault, or one that cannot say: nothing to report about expiry
            return None
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return expires


def _source_client(source: SourceConfig, *, read_timeout: float) -> httpx.Client:
    """An API source's client: its own connection pool, certificates verified against ``ca_file_for``."""
    return httpx.Client(timeout=httpx.Timeout(read_timeout, connect=10.0),
                        verify=verify_for(ca_file_for(source.ca_file)))


def build_csv(source: CsvSourceConfig, company: CompanyConfig | None, *, home: Path) -> CsvDropSource:
    return CsvDropSource(source.path, name=source.name, page_size=source.page_size,
                         max_rows_per_job=source.max_rows_per_job, page_bytes=source.page_bytes,
                         max_row_bytes=source.max_row_bytes, fallback_encoding=source.fallback_encoding or None,
                         settle_seconds=source.settle_seconds)


def build_housecallpro(source: HousecallProSourceConfig, company: CompanyConfig, *, home: Path) -> HousecallProSource:
    return HousecallProSource(
        client=_source_client(source, read_timeout=30.0),
        api_key=read_secret(f"{source.name}-api-key", company.id, system=source.kind),
        api_url=source.api_url, name=source.name,
        page_size=source.page_size, overlap=timedelta(minutes=source.overlap_minutes),
    )


def build_servicetitan(source: ServiceTitanSourceConfig, company: CompanyConfig, *, home: Path) -> ServiceTitanSource:
    return ServiceTitanSource(
        client=_source_client(source, read_timeout=100.0), tenant=source.tenant,
        app_key=read_secret(f"{source.name}-app-key", company.id, system=source.kind),
        client_id=read_secret(f"{source.name}-client-id", company.id, system=source.kind),
        client_secret=read_secret(f"{source.name}-client-secret", company.id, system=source.kind),
        api_url=source.api_url, auth_url=source.auth_url, name=source.name, page_size=source.page_size,
    )


def build_jobber(source: JobberSourceConfig, company: CompanyConfig, *, home: Path) -> JobberSource:
    """A JobberSource with its own httpx.Client and the workspace token file (see ``FileTokenVault``)."""
    tokens = FileTokenVault(
        home / "tokens" / f"{company.id}-{source.name}.json",
        first_refresh_token=lambda: read_secret(f"{source.name}-refresh-token", company.id, system=source.kind),
    )
    return JobberSource(
        client=_source_client(source, read_timeout=30.0), tokens=tokens,
        client_id=read_secret(f"{source.name}-client-id", company.id, system=source.kind),
        client_secret=read_secret(f"{source.name}-client-secret", company.id, system=source.kind),
        api_url=source.api_url, version=source.api_version, name=source.name, page_size=source.page_size,
        overlap=timedelta(minutes=source.overlap_minutes),
    )


def build_inbox(company: CompanyConfig, mailbox: MailboxConfig, *,
                token_provider: TokenProvider | None = None) -> ImapInbox | MaildirInbox:
    """The mailbox's connector; an IMAP password comes from secret ``imap-password-<mailbox>``, an ``auth =
    "oauth2"`` mailbox signs in with ``token_provider``'s tokens (closeout.credentials.mailbox_tokens)."""
    if mailbox.kind in ("maildir", "mbox"):
        return MaildirInbox(mailbox.path, batch_size=mailbox.batch_size, max_message_bytes=mailbox.max_message_bytes,
                            max_batch_bytes=mailbox.max_batch_bytes, name=mailbox.name)
    if mailbox.auth == "oauth2" and token_provider is None:
        raise ConfigError(f"mailbox {mailbox.name!r} signs in with OAuth2: it needs its token provider")
    password = "" if mailbox.auth == "oauth2" else read_secret(f"imap-password-{mailbox.name}", company.id,
                                                               system="imap")
    return ImapInbox(mailbox.host, mailbox.imap_port, mailbox.username, password,
                     token_provider=token_provider, mechanism=mailbox.oauth_mechanism,
                     security=mailbox.security,
                     ca_file=ca_file_for(mailbox.ca_file),
                     connect_timeout=mailbox.connect_timeout, read_timeout=mailbox.read_timeout,
                     batch_size=mailbox.batch_size, max_message_bytes=mailbox.max_message_bytes,
                     max_batch_bytes=mailbox.max_batch_bytes, name=mailbox.name)


SOURCE_BUILDERS: dict[str, Callable[..., Any]] = {
    "csv": build_csv, "jobber": build_jobber, "housecallpro": build_housecallpro, "servicetitan": build_servicetitan,
}
"""Source kind → the builder of its connector from its config, its company and the workspace: a new source kind
is one row here and one in ``MAPPERS`` (docs/architecture.md)."""


def build_quickbooks(company: CompanyConfig, *, base_url: str, access: dict[str, Any]) -> QuickBooksLedger:
    return QuickBooksLedger(base_url=f"{base_url}/v3" if company.ledger.uses_sandbox else base_url,
                            realm_id=company.ledger.realm_id, timeout=company.ledger.timeout_seconds,
                            ca_file=ca_file_for(company.ledger.ca_file), **access)


def build_xero(company: CompanyConfig, *, base_url: str, access: dict[str, Any]) -> XeroLedger:
    return XeroLedger(base_url=f"{base_url}/api.xro/2.0" if company.ledger.uses_sandbox else base_url,
                      tenant_id=company.ledger.tenant_id, timeout=company.ledger.timeout_seconds,
                      ca_file=ca_file_for(company.ledger.ca_file), **access)


LEDGER_BUILDERS: dict[str, Callable[..., QuickBooksLedger | XeroLedger]] = {
    "quickbooks": build_quickbooks, "xero": build_xero,
}
"""Ledger kind → the builder of its connector: a new ledger kind is one row here (docs/architecture.md)."""


def build_ledger(company: CompanyConfig, *, sandbox_url: str | None,
                 token_provider: TokenProvider | None = None) -> QuickBooksLedger | XeroLedger:
    """The company's ledger connector. Its bearer tokens come from ``token_provider`` (closeout.credentials.ledger_tokens:
    refreshed, rotated); without one a sandbox ledger gets the fixed sandbox token, a real one its secret."""
    ledger = company.ledger
    if ledger.uses_sandbox and sandbox_url is None:
        raise ConfigError("the ledger sandbox is not running")
    if token_provider is not None:
        access: dict[str, Any] = {"token_provider": token_provider}
    elif ledger.uses_sandbox:
        access = {"access_token": SANDBOX_ACCESS_TOKEN}
    else:
        access = {"access_token": read_secret(f"{LEDGER_SECRET_PREFIX[ledger.kind]}-access-token", company.id)}
    return LEDGER_BUILDERS[ledger.kind](company, base_url=sandbox_url if ledger.uses_sandbox else ledger.api_url,
                                        access=access)


def resolve_config_path(settings: Settings, config_path: Path | None) -> Path:
    path = config_path or settings.config_path()
    if path is None:
        raise ConfigError(
            "no config file: pass --config, set CLOSEOUT_CONFIG, or put closeout.toml in the workspace "
            f"({settings.resolved_home()}); `closeout demo` runs on the bundled demo config"
        )
    return path


@contextmanager
def open_app(*, settings: Settings | None = None, config_path: Path | None = None) -> Iterator[App]:
    """Open the store (migrating it), start the ledger sandbox when the config uses it, and close both after."""
    settings = settings or Settings()
    config = load_config(resolve_config_path(settings, config_path))
    ca_file_for(None)  # a bad $CLOSEOUT_CA_FILE is a config error now, not a TLS failure on the first call
    home = settings.resolved_home()
    keep_private(home)  # before the store, the sandbox and any kept mail create their files
    store = open_store(settings.store_url())
    try:
        with ExitStack() as stack:
            sandbox_url = None
            if any(company.ledger.uses_sandbox or any(mailbox.oauth_url == "sandbox" for mailbox in company.mailboxes)
                   for company in config.companies):
                sandbox_url = settings.sandbox_url or stack.enter_context(running_sandbox(home / "sandbox"))
            yield App(settings=settings, config=config, store=store, home=home, sandbox_url=sandbox_url)
    finally:
        store.close()
