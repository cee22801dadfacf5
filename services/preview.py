"""`closeout preview`: the invoices the next run would send, with their totals, computed without sending or storing.

Three places are looked at: drafts already prepared and waiting for the ledger, work orders stored but not
yet evaluated, and jobs waiting at their source that have not been pulled (CSV drop folders, and the sources
reached over an API, read from the cursor, or from the source's ``start`` before a first pull). Rules and
mappings run on them in memory; nothing is written, no cursor moves, nothing reaches a ledger. The only thing
reading an API source may change is its credentials (a rotated refresh token goes to the vault, as in a run).
At most ``PREVIEW_MAX_JOBS`` jobs are read per source; a source that cannot be read is named, with why.
Mailboxes are not read: evidence that mail would add (a sign-off, photos) counts only once a run imported it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from services.config import CompanyConfig
from connectors.errors import ConnectorError
from services.intake import cursor_name, first_cursor
from services.prepare import draft_for, judge
from services.runtime import Runtime, UnitOfWork
from workorders.anomalies import Anomaly
from services.preflight import read_ledger_catalog
from workorders.drafts import InvoiceDraft
from workorders.totals import expected_tax
from workorders.push import PushStatus
from workorders.work_order import WorkOrder

PREPARED, STORED, IN_SOURCE = "prepared, waiting to push", "stored, not evaluated yet", "in the source, not pulled yet"
PREVIEW_RUN = "preview"
PREVIEW_MAX_JOBS = 5000
"""Jobs read per source: a preview holds what it reads in memory, so a first look at a long history stops here."""


@dataclass(frozen=True)
class Held:
    """A job the next run would not invoice, and why."""

    company: str
    subject: str
    where: str
    why: str


@dataclass
class Preview:
    drafts: list[tuple[str, InvoiceDraft]] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    not_read: list[str] = field(default_factory=list)
    ledger_tax: dict[str, Decimal] = field(default_factory=dict)
    """Draft idempotency key → the tax its ledger would compute, where the ledger's rates tell (see expected_tax)."""

    def totals(self) -> dict[tuple[str, str], tuple[int, Decimal]]:
        """(company, currency) → (number of invoices, their total)."""
        sums: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal(0)])
        for _, draft in self.drafts:
            entry = sums[(draft.company, draft.currency)]
            entry[0] += 1
            entry[1] += draft.total
        return {key: (n, total) for key, (n, total) in sorted(sums.items())}

    def as_dict(self) -> dict:
        return {
            "drafts": [{"where": where, **draft.model_dump(mode="json"),
                        "ledger_tax": str(self.ledger_tax[draft.idempotency_key])
                        if draft.idempotency_key in self.ledger_tax else None} for where, draft in self.drafts],
            "held": [held.__dict__ for held in self.held],
            "totals": [{"company": c, "currency": cur, "invoices": n, "total": str(t)}
                       for (c, cur), (n, t) in self.totals().items()],
            "not_read": self.not_read,
        }


def preview_run(app: Runtime, *, company: str | None = None) -> Preview:
    """What the next run would invoice, per company; the unit of work is rolled back, never committed."""
    preview = Preview()
    companies = [c for c in app.companies() if company is None or c.id == company]
    with app.store.unit_of_work() as uow:
        seen: set[str] = set()
        for record in uow.push_records.all(status=PushStatus.ready):
            if record.company in {c.id for c in companies}:
                preview.drafts.append((PREPARED, record.draft))
                seen.add(record.work_order_id)
        for order in uow.work_orders.pending_evaluation(limit=100_000):
            if order.company in {c.id for c in companies} and order.id not in seen:
                _judge(uow, app.config.company(order.company), order, STORED, preview)
                seen.add(order.id)
        for config in companies:
            _read_sources(app, uow, config, preview, seen)
        uow.rollback()
    for config in companies:
        _estimate_tax(app, config, preview)
    return preview


def _estimate_tax(app: Runtime, company: CompanyConfig, preview: Preview) -> None:
    """The ledger's tax per draft where its tax codes' rates are known; an unreadable ledger just leaves it out."""
    drafts = [draft for _, draft in preview.drafts if draft.company == company.id]
    if not drafts:
        return
    read = read_ledger_catalog(app, company)
    if not read.was_read or not read.catalog.tax_code_rates:
        return
    for draft in drafts:
        tax = expected_tax(draft, read.catalog.tax_code_rates, tax_inclusive=company.ledger.amounts_include_tax)
        if tax is not None:
            preview.ledger_tax[draft.idempotency_key] = tax


def _judge(uow: UnitOfWork, company: CompanyConfig, order: WorkOrder, where: str, preview: Preview,
           unstored: tuple[WorkOrder, ...] = ()) -> None:
    evaluation = judge(uow, company, order, run_id=PREVIEW_RUN, unstored=unstored)
    subject = f"job {order.job_number} ({order.id}) v{order.version}"
    if str(evaluation.verdict) == "blocked":
        why = "; ".join(f"{d.rule_id}: {d.reason}" for d in evaluation.blocking)
        preview.held.append(Held(order.company, subject, where, f"blocked by {why}"))
    elif str(evaluation.verdict) == "no_invoice":
        why = "; ".join(f"{d.rule_id}: {d.reason}" for d in evaluation.decisions if d.outcome.value == "no_invoice")
        preview.held.append(Held(order.company, subject, where, f"no invoice: {why}"))
    else:
        draft = draft_for(uow, company, evaluation)
        if isinstance(draft, Anomaly):
            preview.held.append(Held(order.company, subject, where, f"{draft.code.value}: {draft.summary}"))
        else:
            preview.drafts.append((where, draft))


def _read_sources(app: Runtime, uow: UnitOfWork, company: CompanyConfig, preview: Preview, seen: set[str]) -> None:
    """Map every new job of the company's sources first, so look-alikes among them are compared too."""
    unread: list[WorkOrder] = []
    for source in company.sources:
        name = f"{company.id}/{source.kind}/{source.name}"
        cursor = uow.cursors.get(cursor_name(company, source)) or first_cursor(company, source)
        read = 0
        try:
            for job in _jobs_of(app.source_for(source, company).fetch_pages(cursor=cursor)):
                if read == PREVIEW_MAX_JOBS:
                    preview.not_read.append(f"{name}: more than {PREVIEW_MAX_JOBS} jobs waiting; the rest not read")
                    break
                read += 1
                mapped = app.map_payload(source.kind, dict(job.payload), company)
                if isinstance(mapped, Anomaly):
                    preview.held.append(Held(company.id, mapped.subject, IN_SOURCE, f"{mapped.code.value}: {mapped.summary}"))
                    continue
                stored = uow.work_orders.get(mapped.id)
                if mapped.id in seen or (stored is not None and stored.content_hash() == mapped.content_hash()):
                    continue  # nothing new: the store already holds (and has handled) this content
                seen.add(mapped.id)
                unread.append(mapped.with_version(stored.version + 1 if stored else 1))
        except ConnectorError as exc:  # the run would meet the same outage: preview says so and goes on
            preview.not_read.append(f"{name}: {exc}")
    for order in unread:
        _judge(uow, company, order, IN_SOURCE, preview, unstored=tuple(unread))


def _jobs_of(pages):
    for page in pages:
        yield from page.jobs
