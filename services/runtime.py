"""What the use cases need from the process that runs them: the ports the shell's wiring (``closeout.wiring.App``) fills.

The use cases never build a connector, read a secret or open a database: they ask the runtime. A test drives
them with fakes of these Protocols (``tests/fakes.py``); the shell implements them on the real adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from exceptions_queue.cases import Case, CaseKind, CaseStatus
from exceptions_queue.desk import AuditEntry
from exceptions_queue.repository import CaseRepository
from exceptions_queue.users import Role, User
from notifications.messages import Notice, NoticeRecord, NoticeStatus
from services.config import CloseoutConfig, CompanyConfig, SourceConfig
from services.mailbox_config import MailboxConfig
from workorders import ports
from workorders.ports import ApiSource, Ledger, MappingOverrideReader, Source


class Cases(CaseRepository, Protocol):
    """The queue's case repository with the batch reads and writes the use cases make (intake and prepare, once a
    page)."""

    def add_many(self, cases: Sequence[Case]) -> list[Case]:
        """``add`` for several new cases at once, in one write; their ids follow the order of ``cases``."""

    def open_subjects(self, *, kind: CaseKind, subjects: Sequence[str]) -> set[str]:
        """Which of ``subjects`` have an open or in-progress case of this kind."""

    def work_orders_with_cases(self, work_order_ids: Sequence[str], *, kinds: Sequence[CaseKind],
                               statuses: Sequence[CaseStatus]) -> set[str]:
        """Which of these work orders have a case of one of ``kinds`` in one of ``statuses``."""


class StoredMessage(Protocol):
    """A kept mail message as the use cases read it back (read-only: the store answers with a frozen dataclass)."""

    @property
    def pk(self) -> int: ...

    @property
    def work_order_id(self) -> str | None: ...

    @property
    def job_number(self) -> str: ...

    @property
    def raw_path(self) -> str: ...

    @property
    def content_hash(self) -> str: ...

    @property
    def mailbox(self) -> str: ...


class MessagePlacement(Protocol):
    """Where one stored message went, as the audit reads it."""

    @property
    def company(self) -> str: ...

    @property
    def message_id(self) -> str: ...

    @property
    def content_hash(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def work_order_id(self) -> str | None: ...


class Messages(Protocol):
    """Mail in the store: messages, their attachments and matches, and each mailbox's polls."""

    def find_many(self, *, company: str, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which ``(Message-ID, content hash)`` of these are stored already."""

    def stored_pairs(self, *, company: str, message_ids: Sequence[str]) -> set[tuple[str, str]]:
        """Every ``(Message-ID, content hash)`` stored under these Message-IDs (several messages may share one)."""

    def add_many(self, messages: Sequence[dict[str, Any]]) -> list[int]:
        """Store message rows; their keys, in order."""

    def add_attachments_many(self, items: Iterable[tuple[int, Iterable[dict[str, Any]]]]) -> None: ...

    def add_match(self, message_pk: int, *, work_order_id: str, job_number: str, method: str, confidence: float,
                  explanation: str, evidence: dict[str, Any]) -> None: ...

    def add_matches(self, items: Iterable[tuple[int, dict[str, Any]]]) -> None: ...

    def thread_hits(self, *, company: str, message_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Stored messages of these Message-IDs that were matched: ``{message id: (work order id, job number)}``."""

    def evidence_for(self, work_order_id: str) -> list[dict[str, Any]]:
        """The mail evidence matched to a work order, as JSON (``MailEvidence.from_json`` reads it)."""

    def evidence_for_many(self, work_order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """``evidence_for`` of many work orders, by id (orders without any left out)."""

    def get(self, *, company: str, message_id: str, content_hash: str | None = None) -> StoredMessage | None: ...

    def set_status(self, message_pk: int, status: str) -> None: ...

    def attachments(self, message_pk: int) -> list[dict[str, Any]]: ...

    def record_poll(self, *, company: str, mailbox: str, outcome: str, detail: str = "", fetched: int = 0) -> None: ...

    def last_poll(self, *, company: str, mailbox: str, outcome: str | None = None) -> datetime | None: ...

    def first_poll(self, *, company: str, mailbox: str) -> datetime | None: ...

    def placements(self) -> Sequence[MessagePlacement]:
        """Every stored message with the work order it is attached to, for the audit."""


class Users(Protocol):
    """The people who sign in to the queue, and the digests of their API tokens."""

    def add(self, username: str, role: Role, password_hash: str, *, email: str | None = None,
            companies: tuple[str, ...] | None = None) -> User:
        """Create the user, or replace the role and password of an existing one (a reset); an ``email`` or
        ``companies`` of None leaves a reset user's address or companies as they were (``()``: every company)."""

    def get(self, username: str) -> User | None: ...

    def password_hash(self, username: str) -> str | None: ...

    def all(self) -> list[User]: ...

    def add_token(self, username: str, digest: str, label: str) -> None: ...

    def user_for_token(self, digest: str) -> User | None: ...


class Notifications(Protocol):
    """Notifications under their unique keys (``services.notify``): recorded once, claimed, sent or failed."""

    def record(self, notices: Sequence[Notice]) -> list[str]:
        """Add each notice whose key is not recorded yet; the keys that went in."""

    def due(self, *, limit: int = 100) -> list[NoticeRecord]:
        """Pending notices whose next attempt is now or earlier, oldest first."""

    def claim(self, key: str, *, lease: timedelta) -> NoticeRecord | None:
        """Count an attempt and hold the notice for ``lease``; None when another sender holds it or it is done."""

    def mark_sent(self, key: str) -> None: ...

    def mark_failed(self, key: str, *, error: str, retry_at: datetime | None) -> None:
        """Keep the error; try again at ``retry_at``, or (None) give up: the notice stays, ``failed``."""

    def get(self, key: str) -> NoticeRecord | None: ...

    def for_case(self, case_id: int) -> list[NoticeRecord]: ...

    def all(self, *, status: NoticeStatus | None = None, limit: int = 1000) -> list[NoticeRecord]:
        """The newest first."""


class AuditLog(Protocol):
    """The global audit trail: append-only."""

    def append(self, *, actor: str, action: str, subject: str = "", note: str = "",
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None: ...

    def recent(self, *, limit: int = 200) -> list[AuditEntry]:
        """The newest entries first."""


class UnitOfWork(ports.UnitOfWork, Protocol):
    """One transaction over every repository the use cases reach: the core's, the queue's and mail's.

    Nothing is visible to others until ``commit``; leaving the ``with`` block rolls back the rest.
    """

    @property
    def cases(self) -> Cases: ...

    @property
    def messages(self) -> Messages: ...

    @property
    def users(self) -> Users: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def notifications(self) -> Notifications: ...

    def __enter__(self) -> UnitOfWork: ...


class ReadsOverrides(Protocol):
    """Where mapping overrides are read from: a unit of work, or a batch that reads them once for all its orders."""

    @property
    def mapping_overrides(self) -> MappingOverrideReader: ...


class Store(Protocol):
    """Where the records live: every use of it is one unit of work."""

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
    home: Path
    """The workspace: kept mail, evidence and token files live under it."""
    customer_refs: dict[str, dict[str, Any]]
    """Per company, the ledger customer each ``name|email`` resolved to in this run."""

    @property
    def store(self) -> Store:
        """Read-only here, so any store satisfying ``Store`` fits (the shell's SqlStore, a test's FakeStore)."""

    def companies(self) -> tuple[CompanyConfig, ...]: ...

    def ledger_for(self, company: CompanyConfig) -> Ledger: ...

    def source_for(self, source: SourceConfig, company: CompanyConfig | None = None) -> Source: ...

    def api_source_for(self, source: SourceConfig, company: CompanyConfig) -> ApiSource:
        """The connector of a source behind an API (not a CSV drop): it fetches one job and checks its login."""

    def map_payload(self, kind: str, payload: dict[str, Any], company: CompanyConfig) -> Any:
        """The source kind's pure mapping of a raw payload (a copy the caller owns): a ``WorkOrder``, an ``Anomaly``,
        or a ``workorders.deletions.SourceDeletion`` (the source's word that the job is deleted)."""

    def inbox_for(self, company: CompanyConfig, mailbox: MailboxConfig) -> Inbox: ...

    def pacer_for(self, company: CompanyConfig) -> Pacer: ...

    def ledger_token_expiry(self, company: CompanyConfig) -> datetime | None:
        """When the company's ledger refresh token ends, as its token vault knows it (None: not known)."""


__all__ = ["AuditLog", "Cases", "Emit", "Inbox", "MessagePlacement", "Messages", "Notifications", "Pacer", "ReadsOverrides", "Runtime",
           "Store", "StoredMessage", "UnitOfWork", "Users"]
