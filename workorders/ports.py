"""The seams of Closeout in one readable place: what the core needs from the store, sources and ledgers.

Adapters satisfy these structurally (storage.SqlStore, connectors.qbo.QuickBooksLedger, ...); connectors
never import this module, they simply have the same methods.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from workorders.decisions import RuleDecision
from workorders.drafts import InvoiceDraft
from workorders.push import PushRecord, PushStatus
from workorders.work_order import WorkOrder


# ---- sources ------------------------------------------------------------------------------------


class RawJob(Protocol):
    """One payload as a source delivered it: mapped later, landed first."""

    source: str
    stream: str
    external_id: str
    locator: str
    payload: Mapping[str, Any]


class SourcePage(Protocol):
    jobs: Sequence[RawJob]
    next_cursor: str | None


class Source(Protocol):
    name: str

    def fetch_pages(self, *, cursor: str | None) -> Iterator[SourcePage]:
        """Pages of raw jobs changed since ``cursor``, oldest first; each page carries the cursor after it."""


# ---- ledgers ------------------------------------------------------------------------------------


class LedgerInvoice(Protocol):
    ledger_id: str
    doc_number: str
    total: Decimal
    customer_ref: str


class Ledger(Protocol):
    name: str

    def find_customers(self, *, name: str, email: str | None) -> list[str]:
        """Ledger ids of customers with this billing email, else with exactly this name."""

    def create_customer(self, *, name: str, email: str | None) -> str: ...

    def create_invoice(self, payload: Mapping[str, Any], *, idempotency_key: str) -> LedgerInvoice:
        """Create one invoice; the ledger replays the first answer for a repeated key."""

    def find_invoices(self, doc_numbers: Sequence[str]) -> list[LedgerInvoice]:
        """Invoices whose doc number is one of these: how an uncertain push is looked up."""

    def list_invoices(self) -> Iterator[LedgerInvoice]: ...


# ---- the store ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LandedPayload:
    id: int
    payload_hash: str
    is_new: bool


@dataclass(frozen=True)
class SavedWorkOrder:
    order: WorkOrder
    changed: bool


class RawLanding(Protocol):
    def land(self, *, source: str, stream: str, external_id: str, locator: str, payload: Mapping[str, Any]) -> LandedPayload:
        """Keep the payload exactly as received (once per distinct content) before anything maps it."""

    def replay(self, *, source: str) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        """The latest payload of each job of a source: ``(stream, external_id, locator, payload)``."""

    def count_jobs(self) -> int:
        """Distinct ``(source, external_id)`` pairs ever landed: the 'jobs seen' of the audit."""

    def job_ids(self) -> list[str]:
        """Every ``"{source}:{external_id}"`` ever landed."""


class WorkOrders(Protocol):
    def save(self, order: WorkOrder) -> SavedWorkOrder:
        """Store a new version when the content hash changed; otherwise return the stored one unchanged."""

    def get(self, work_order_id: str, version: int | None = None) -> WorkOrder | None: ...

    def versions(self, work_order_id: str) -> list[WorkOrder]: ...

    def latest(self, *, company: str | None = None) -> Iterator[WorkOrder]:
        """The latest version of every work order."""

    def pending_evaluation(self, *, limit: int = 1000) -> list[WorkOrder]:
        """Latest versions that have no rule decisions yet."""

    def possible_duplicates(self, order: WorkOrder, *, limit: int = 50) -> list[WorkOrder]:
        """Latest versions of the company's other completed jobs finished around the same time (for the rules)."""

    def ids_for_job_number(self, job_number: str, *, company: str | None = None) -> list[str]:
        """Ids of the work orders with this human job number."""


class Decisions(Protocol):
    def add(self, decisions: Sequence[RuleDecision]) -> None: ...

    def for_work_order(self, work_order_id: str, version: int | None = None) -> list[RuleDecision]: ...

    def outcome_counts(self) -> dict[str, int]: ...


class PushRecords(Protocol):
    def add_ready(self, draft: InvoiceDraft) -> PushRecord:
        """Record a draft as ready; a second call with the same idempotency key returns the first record."""

    def claim(self, *, ledger: str, company: str | None = None, limit: int = 30) -> list[PushRecord]:
        """Move up to ``limit`` ready or uncertain records to ``pushing`` and return them.

        On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED`` so two workers never claim one.
        """

    def mark(self, key: str, status: PushStatus, *, ledger_id: str | None = None, error: str = "") -> PushRecord: ...

    def release_stale(self, older_than: timedelta, *, ledger: str | None = None) -> int:
        """Move records left in ``pushing`` longer than ``older_than`` (their worker died) to ``uncertain``.

        Uncertain, not ready: the lost attempt may have reached the ledger, so it is looked up before any resend.
        """

    def get(self, key: str) -> PushRecord | None: ...

    def for_work_order(self, work_order_id: str) -> list[PushRecord]: ...

    def all(self, *, status: PushStatus | None = None) -> list[PushRecord]: ...


class Cursors(Protocol):
    def get(self, stream: str) -> str | None: ...

    def set(self, stream: str, value: str) -> None: ...


class UnitOfWork(Protocol):
    """One transaction over every repository; nothing is visible to others until ``commit``.

    ``cases`` is an ``exceptions_queue.repository.CaseRepository`` (typed loosely here because the core
    does not know the queue).
    """

    raw: RawLanding
    work_orders: WorkOrders
    decisions: Decisions
    push_records: PushRecords
    cursors: Cursors
    cases: Any

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def __enter__(self) -> "UnitOfWork": ...

    def __exit__(self, *exc: object) -> None:
        """Roll back whatever was not committed."""
