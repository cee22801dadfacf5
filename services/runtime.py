"""What the use cases need from the process that runs them: the ports the shell's wiring (``closeout.wiring.App``) fills.

The use cases never build a connector, read a secret or open a database: they ask the runtime. A test drives
them with fakes of these Protocols (``tests/fakes.py``); the shell implements them on the real adapters.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from services.config import CloseoutConfig, CompanyConfig, SourceConfig
from services.mailbox_config import MailboxConfig
from workorders.ports import Ledger, Source, UnitOfWork


class Store(Protocol):
    """Where the records live: every use of it is one unit of work (``workorders.ports.UnitOfWork``)."""

    def unit_of_work(self) -> UnitOfWork: ...


class Pacer(Protocol):
    """Waits for a company's turn at its ledger, so every worker together stays within the published limits."""

    def slot(self, call: str, *args: Any, **kwargs: Any) -> AbstractContextManager[None]:
        """Held around one connector call ``call`` (its arguments say how many requests it makes)."""


class Inbox(Protocol):
    """A mailbox, opened as a context manager; ``connectors.imap_inbox.ImapInbox`` and ``MaildirInbox``."""

    name: str

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> None: ...


class Emit(Protocol):
    """Tells the outside something happened that an automation may alert on: Prefect's ``emit_event`` or a stand-in."""

    def __call__(self, *, event: str, resource: dict[str, str], payload: dict[str, Any]) -> Any: ...


class Runtime(Protocol):
    """One process's config, store and connectors, as the use cases see them."""

    config: CloseoutConfig
    store: Store
    home: Path
    """The workspace: kept mail, evidence and token files live under it."""
    customer_refs: dict[str, dict[str, Any]]
    """Per company, the ledger customer each ``name|email`` resolved to in this run."""

    def companies(self) -> tuple[CompanyConfig, ...]: ...

    def ledger_for(self, company: CompanyConfig) -> Ledger: ...

    def source_for(self, source: SourceConfig, company: CompanyConfig | None = None) -> Source: ...

    def map_payload(self, kind: str, payload: Mapping[str, Any], company: CompanyConfig) -> Any:
        """The source kind's pure mapping of a raw payload: a ``WorkOrder`` or an ``Anomaly``."""

    def inbox_for(self, company: CompanyConfig, mailbox: MailboxConfig) -> Inbox: ...

    def pacer_for(self, company: CompanyConfig) -> Pacer: ...

    def ledger_token_expiry(self, company: CompanyConfig) -> datetime | None:
        """When the company's ledger refresh token ends, as its token vault knows it (None: not known)."""


__all__ = ["Emit", "Inbox", "Pacer", "Runtime", "Store"]
