"""The seams of Closeout in one readable place: what the core needs from the store, sources and ledgers.

Adapters satisfy these structurally (storage.SqlStore, connectors.qbo.QuickBooksLedger, ...); connectors
never import this module, they simply have the same methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from workorders.correction_steps import CorrectionRecord, CorrectionStatus, CorrectionStep
from workorders.decisions import RuleDecision
from workorders.drafts import InvoiceDraft
from workorders.payments import PaymentReading
from workorders.push import EvidenceItem, PushRecord, PushStatus
from workorders.work_order import WorkOrder


# ---- sources ------------------------------------------------------------------------------------


class RawJob(Protocol):
    """One payload as a source delivered it: mapped later, landed first (read-only: a frozen dataclass fits)."""

    @property
    def source(self) -> str: ...

    @property
    def stream(self) -> str: ...

    @property
    def external_id(self) -> str: ...

    @property
    def locator(self) -> str: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...


class SourcePage(Protocol):
    @property
    def jobs(self) -> Sequence[RawJob]: ...

    @property
    def next_cursor(self) -> str | None: ...


class Source(Protocol):
    name: str

    def fetch_pages(self, *, cursor: str | None) -> Iterator[SourcePage]:
        """Pages of raw jobs changed since ``cursor``, oldest first; each page carries the cursor after it."""


class ApiSource(Source, Protocol):
    """A source behind an API (Jobber, Housecall Pro, ServiceTitan); a CSV drop has neither of these."""

    def fetch_job(self, job_id: str) -> SourcePage:
        """The one job a webhook named, as a page of one (or none when the source no longer has it)."""

    def check(self) -> str:
        """Authenticate and read one thing; what was read, for the health table (raises a ConnectorError)."""


# ---- ledgers ------------------------------------------------------------------------------------


class LedgerInvoice(Protocol):
    """An invoice as the ledger keeps it (read-only: each connector answers with a frozen dataclass)."""

    @property
    def ledger_id(self) -> str: ...

    @property
    def doc_number(self) -> str: ...

    @property
    def subtotal(self) -> Decimal:
        """The lines before tax."""

    @property
    def tax(self) -> Decimal:
        """The tax the ledger computed."""

    @property
    def total(self) -> Decimal:
        """What the customer owes: subtotal plus tax."""

    @property
    def currency(self) -> str:
        """The invoice's currency code; "" when the ledger did not say."""

    @property
    def customer_ref(self) -> str: ...

    @property
    def balance(self) -> Decimal | None:
        """What the customer still owes (QBO Balance, Xero AmountDue); None when the ledger did not say."""

    @property
    def status(self) -> str:
        """The ledger's own status of the invoice (Xero: AUTHORISED, PAID, VOIDED...); "" where it has none."""


class Ledger(Protocol):
    name: str
    max_batch: int
    """How many invoices one ``create_invoices`` call takes; 1 means the ledger has no batch create."""

    def find_customers(self, *, name: str, email: str | None) -> list[str]:
        """Ledger ids of customers with this billing email, else with exactly this name."""

    def list_customers(self, *, page: int = 1) -> list[tuple[str, str, str | None]]:
        """One page of ``(ledger id, name, email)`` of the customers, a full page while more follow.

        An archived customer keeps its place in the page with an empty id, so the page's length still tells.
        """

    def create_customer(self, *, name: str, email: str | None,
                        addresses: Mapping[str, Mapping[str, str]] | None = None) -> str:
        """Create a customer with its addresses in the ledger's own shape (the mappings make them); a taken
        name is a RejectedError."""

    def create_invoice(self, payload: Mapping[str, Any], *, idempotency_key: str) -> LedgerInvoice:
        """Create one invoice; the ledger replays the first answer for a repeated key."""

    def create_invoices(self, items: Sequence[tuple[Mapping[str, Any], str]]) -> Sequence[LedgerInvoice | Exception]:
        """Create up to ``max_batch`` ``(payload, idempotency key)`` invoices; one result per item, in order:
        the invoice, or the ``connectors.errors.RejectedError`` that refused it. A lost answer raises for all."""

    def find_invoices(self, doc_numbers: Sequence[str]) -> Sequence[LedgerInvoice]:
        """Invoices whose doc number is one of these: how an uncertain push is looked up."""

    def list_invoices(self) -> Iterator[LedgerInvoice]: ...

    def read_catalog(self) -> LedgerCatalog:
        """Optional: the codes the ledger company has, for checking mapping tables (``services.preflight``).

        A ledger without it is simply not checked: callers look it up with ``getattr(ledger, "read_catalog", None)``.
        Connectors answer with their own frozen dataclass of the same fields (they never import this module).
        """


class CorrectingLedger(Ledger, Protocol):
    """A ledger that can correct an invoice already sent: amend it, void it, or credit it (``services.corrections``).

    Every call takes the idempotency key of one correction step; the ledger replays the first answer for a
    repeated key where it keeps keys (QBO's ``requestid``, Xero's ``Idempotency-Key``), and the caller looks the
    step up before any resend where it may not. A refusal (paid, voided, stale beyond one re-read) is a
    ``connectors.errors.RejectedError`` with the ledger's own code and message.
    """

    def read_invoice(self, ledger_id: str) -> LedgerInvoice | None:
        """The invoice as the ledger holds it now (its balance and status included); None for an unknown id."""

    def update_invoice(self, ledger_id: str, payload: Mapping[str, Any], *, idempotency_key: str) -> LedgerInvoice:
        """Put ``payload`` (``create_invoice``'s shape) in place of the invoice's lines and fields, keeping its id
        and number. QBO: a sparse update with the SyncToken just read; a stale token (5010) is re-read once."""

    def void_invoice(self, ledger_id: str, *, idempotency_key: str) -> LedgerInvoice:
        """Void the invoice (QBO ``operation=void``, Xero Status VOIDED): its amounts become 0, its number stays."""

    def create_credit_note(self, payload: Mapping[str, Any], *, idempotency_key: str,
                           against: str | None = None) -> LedgerInvoice:
        """Create a credit note (QBO CreditMemo, Xero ACCRECCREDIT; the payload made by ``mappings.qbo`` /
        ``mappings.xero`` for credits) naming the invoice ``against``. Xero allocates it to that invoice when the
        invoice still owes at least its total; QBO leaves it as the customer's credit (Intuit applies credits
        through a payment). Answers with the credit note in ``LedgerInvoice``'s fields."""

    def find_credit_notes(self, doc_numbers: Sequence[str]) -> Sequence[LedgerInvoice]:
        """Credit notes whose number is one of these: how an uncertain credit step is looked up."""


@dataclass(frozen=True)
class LedgerCatalog:
    """What one ledger company has for a mapping to name, kind by kind: ledger code → display name.

    None for a kind this ledger does not have (QBO has no tracking categories; Xero no classes, departments or
    terms); an empty mapping for a kind it has but holds nothing of. Only usable entries are listed: active ones,
    income accounts, tax codes for sales. ``tax_code_rates`` is the percentage of each tax code whose rate the
    ledger said. Tracking codes are ``"Category/Option"``.
    """

    ledger: str
    items: Mapping[str, str] | None = None
    tax_codes: Mapping[str, str] | None = None
    tax_code_rates: Mapping[str, Decimal] | None = None
    accounts: Mapping[str, str] | None = None
    classes: Mapping[str, str] | None = None
    departments: Mapping[str, str] | None = None
    tracking: Mapping[str, str] | None = None
    terms: Mapping[str, str] | None = None


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
    def land_many(self, jobs: list[RawJob]) -> list[LandedPayload]:
        """Keep each payload exactly as received (once per distinct content) before anything maps it; one
        result per job, in order."""

    def replay(self, *, source: str) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        """The latest payload of each job of a source: ``(stream, external_id, locator, payload)``."""

    def job_ids(self) -> list[str]:
        """Every ``"{source}:{external_id}"`` ever landed."""


class WorkOrders(Protocol):
    def save(self, order: WorkOrder) -> SavedWorkOrder:
        """Store a new version when the content hash changed; otherwise return the stored one unchanged."""

    def save_many(self, orders: list[WorkOrder]) -> list[SavedWorkOrder]:
        """``save`` for a page of orders; one result per order, in order."""

    def get(self, work_order_id: str, version: int | None = None) -> WorkOrder | None: ...

    def versions(self, work_order_id: str) -> list[WorkOrder]: ...

    def latest(self, *, company: str | None = None) -> Iterator[WorkOrder]:
        """The latest version of every work order."""

    def pending_evaluation(self, *, limit: int = 1000) -> list[WorkOrder]:
        """Latest versions that have no rule decisions yet."""

    def possible_duplicates(self, order: WorkOrder, *, limit: int = 50) -> list[WorkOrder]:
        """Latest versions of the company's other completed jobs finished around the same time (for the rules)."""

    def possible_duplicates_many(self, orders: list[WorkOrder]) -> dict[str, list[WorkOrder]]:
        """``possible_duplicates`` of every order of a batch, by order id."""

    def ids_for_job_number(self, job_number: str, *, company: str | None = None) -> list[str]:
        """Ids of the work orders with this human job number."""


class Decisions(Protocol):
    def add(self, decisions: Sequence[RuleDecision]) -> None: ...

    def for_work_order(self, work_order_id: str, version: int | None = None) -> list[RuleDecision]: ...


class PushRecords(Protocol):
    def add_ready(self, draft: InvoiceDraft) -> PushRecord:
        """Record a draft as ready; a second call with the same idempotency key returns the first record."""

    def add_ready_many(self, drafts: Sequence[InvoiceDraft]) -> None:
        """``add_ready`` for a batch of drafts; a key already recorded is left untouched."""

    def supersede_unsent(self, newer: Sequence[tuple[str, int]]) -> list[PushRecord]:
        """Withdraw (``superseded``) the ready or rejected records of versions older than each ``(work order id,
        version)``: no ledger holds them, so the newer version is judged as if they had never been drafted.
        A record a worker holds, or that may have reached the ledger, is left alone. Returns those withdrawn."""

    def withdraw_unsent(self, work_order_id: str, *, because: str) -> list[PushRecord]:
        """Withdraw (``superseded``, ``because`` as the record's last error) every ready or rejected record of the
        work order: its job is not to be billed by Closeout after all. A record a worker holds is left alone."""

    def claim(self, *, ledger: str, company: str | None = None, limit: int = 30) -> list[PushRecord]:
        """Move up to ``limit`` ready or uncertain records to ``pushing`` and return them.

        On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED`` so two workers never claim one.
        """

    def claim_keys(self, keys: Sequence[str]) -> list[PushRecord]:
        """Move these records, when ready or uncertain, to ``pushing`` and return them (a replay's push)."""

    def mark_many(self, outcomes: Sequence[tuple[str, PushStatus, str | None, str]]) -> None:
        """Set ``(key, status, ledger id or None, error)`` of many records; a pushed record stays pushed."""

    def note_ledger_totals(self, totals: Sequence[tuple[str, Decimal, Decimal]]) -> None:
        """Keep ``(key, tax, total)`` as the ledger computed them when it created each invoice."""

    def note_payments(self, readings: Sequence[PaymentReading]) -> None:
        """Keep each invoice's payment state and balance as just read from its ledger, with the time read."""

    def release_stale(self, older_than: timedelta, *, ledger: str | None = None) -> int:
        """Move records left in ``pushing`` longer than ``older_than`` (their worker died) to ``uncertain``.

        Uncertain, not ready: the lost attempt may have reached the ledger, so it is looked up before any resend.
        """

    def get(self, key: str) -> PushRecord | None: ...

    def for_work_order(self, work_order_id: str) -> list[PushRecord]: ...

    def for_work_orders(self, work_order_ids: Sequence[str]) -> dict[str, list[PushRecord]]:
        """``for_work_order`` of many orders at once, by order id (orders without records left out)."""

    def all(self, *, status: PushStatus | None = None) -> list[PushRecord]: ...

    def holding_ledger_ids(self, *, ledger: str, company: str, ledger_ids: Sequence[str]) -> dict[str, str]:
        """Ledger id -> idempotency key of the pushed records of this company and ledger that hold these ids."""

    def refresh_rejected(self, draft: InvoiceDraft) -> bool:
        """Put a rebuilt draft in place of a rejected one, ready again; any other state keeps its draft."""

    def unmapped_customers(self, *, ledger: str, company: str) -> set[tuple[str, str | None]]:
        """``(name, email)`` of the company's claimable drafts that carry no mapped customer ref."""


class PushEvidence(Protocol):
    """What to attach to (and whether to e-mail) each pushed invoice, item by item, claimed like push records."""

    def plan(self, key: str, *, company: str, ledger: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Record each item (``item``, ``kind``, ``target``, ``media_type``, ``size_bytes``) as pending, once."""

    def claim(self, *, company: str, ledger: str, limit: int = 100,
              retry_delay: timedelta = timedelta(0)) -> list[EvidenceItem]:
        """Move up to ``limit`` pending items to ``sending``; a record's e-mail waits for its files."""

    def finish(self, key: str, item: str, status: str, *, ledger_ref: str | None = None, error: str = "") -> None:
        """Set the outcome: ``done``, ``failed`` (a case was opened), or ``pending`` again."""

    def release_stale(self, older_than: timedelta, *, ledger: str) -> int:
        """Items left ``sending`` longer than ``older_than`` (a worker died) become pending again."""


class Corrections(Protocol):
    """The steps of corrections after invoicing (``workorders.correction_steps``), recorded before they are sent."""

    def record(self, steps: Sequence[CorrectionStep], *, case_id: int | None, actor: str) -> None:
        """Record each step as planned, once: a key already recorded keeps its state."""

    def claim(self, keys: Sequence[str], *, stale_after: timedelta) -> list[CorrectionRecord]:
        """Move these steps (planned, uncertain, or sending longer than ``stale_after``) to ``sending``; two
        workers never claim one step."""

    def finish(self, key: str, status: CorrectionStatus, *, ledger_id: str | None = None,
               ledger_total: Decimal | None = None, error: str = "") -> None: ...

    def get(self, keys: Sequence[str]) -> list[CorrectionRecord]: ...

    def for_work_order(self, work_order_id: str) -> list[CorrectionRecord]: ...

    def for_work_orders(self, work_order_ids: Sequence[str]) -> dict[str, list[CorrectionRecord]]: ...

    def all(self, *, status: CorrectionStatus | None = None) -> list[CorrectionRecord]: ...


class Cursors(Protocol):
    def get(self, stream: str) -> str | None: ...

    def set(self, stream: str, value: str) -> None: ...


class MappingOverrideReader(Protocol):
    def for_company(self, company: str) -> dict[str, dict[str, str]]:
        """The company's stored overrides: ``{table: {key: value}}``."""


class MappingOverrides(MappingOverrideReader, Protocol):
    """Mapping entries (and line prices) a person added in the queue, over the config file's tables."""

    def put(self, *, company: str, table: str, key: str, value: str, actor: str) -> str | None:
        """Store the entry; the value it replaced, if any."""


class Cutovers(Protocol):
    """What each company said about the books it kept before Closeout (``closeout cutover``)."""

    def record(self, *, company: str, invoiced_before: datetime | None, jobs: Sequence[str], actor: str) -> None:
        """Add one cutover: a date (jobs completed before it), a list of job ids or numbers, or both."""

    def for_company(self, company: str) -> Any:
        """Every cutover of the company merged into the ``workorders.rules.Cutover`` its rules see."""


class UnitOfWork(Protocol):
    """One transaction over the core's repositories; nothing is visible to others until ``commit``.

    ``cases`` is an ``exceptions_queue.repository.CaseRepository`` (typed loosely here because the core
    does not know the queue); ``services.runtime.UnitOfWork`` is this with the queue's repositories typed.
    """

    # Read-only members: an adapter's own repository classes (SqlRawLanding, ...) satisfy them.
    @property
    def raw(self) -> RawLanding: ...

    @property
    def work_orders(self) -> WorkOrders: ...

    @property
    def decisions(self) -> Decisions: ...

    @property
    def push_records(self) -> PushRecords: ...

    @property
    def push_evidence(self) -> PushEvidence: ...

    @property
    def corrections(self) -> Corrections: ...

    @property
    def cursors(self) -> Cursors: ...

    @property
    def mapping_overrides(self) -> MappingOverrides: ...

    @property
    def cutovers(self) -> Cutovers: ...

    @property
    def cases(self) -> Any: ...

    @property
    def clock(self) -> Callable[[], datetime]:
        """The store's clock: when what this unit of work writes happened."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def __enter__(self) -> "UnitOfWork": ...

    def __exit__(self, *exc: object) -> None:
        """Roll back whatever was not committed."""
