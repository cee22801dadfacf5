"""The composition root: settings and config in, a ready store, sources and ledgers out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from closeout.config import CloseoutConfig, CompanyConfig, ConfigError, SourceConfig, load_config
from closeout.secrets import SANDBOX_ACCESS_TOKEN, read_secret
from closeout.settings import Settings
from connectors.csv_drop import CsvDropSource
from connectors.qbo import QuickBooksLedger
from mappings.csv_jobs import map_csv_job
from sandbox.server import running_sandbox
from storage import SqlStore, open_store

MAPPERS: dict[str, Callable[..., Any]] = {"csv": map_csv_job}
"""Source kind → pure mapping from its raw payload to a WorkOrder or an Anomaly."""


@dataclass
class App:
    """Everything a run needs, built once per process and closed at its end."""

    settings: Settings
    config: CloseoutConfig
    store: SqlStore
    home: Path
    sandbox_url: str | None = None
    _ledgers: dict[str, QuickBooksLedger] = field(default_factory=dict)

    def companies(self) -> tuple[CompanyConfig, ...]:
        return self.config.companies

    def ledger_for(self, company: CompanyConfig) -> QuickBooksLedger:
        if company.id not in self._ledgers:
            self._ledgers[company.id] = build_ledger(company, sandbox_url=self.sandbox_url)
        return self._ledgers[company.id]

    def source_for(self, source: SourceConfig) -> CsvDropSource:
        return CsvDropSource(source.path, name=source.name)

    def map_payload(self, kind: str, payload: dict, company: CompanyConfig) -> Any:
        return MAPPERS[kind](payload, company=company.id, default_timezone=company.timezone)


def build_ledger(company: CompanyConfig, *, sandbox_url: str | None) -> QuickBooksLedger:
    ledger = company.ledger
    if ledger.uses_sandbox:
        if sandbox_url is None:
            raise ConfigError("the ledger sandbox is not running")
        return QuickBooksLedger(base_url=f"{sandbox_url}/v3", realm_id=ledger.realm_id, access_token=SANDBOX_ACCESS_TOKEN)
    return QuickBooksLedger(
        base_url=ledger.api_url, realm_id=ledger.realm_id, access_token=read_secret("qbo-access-token", company.id)
    )


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
    home = settings.resolved_home()
    store = open_store(settings.store_url())
    try:
        with ExitStack() as stack:
            sandbox_url = None
            if any(company.ledger.uses_sandbox for company in config.companies):
                sandbox_url = stack.enter_context(running_sandbox(home / "sandbox"))
            yield App(settings=settings, config=config, store=store, home=home, sandbox_url=sandbox_url)
    finally:
        store.close()
