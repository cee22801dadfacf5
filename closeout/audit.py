"""The audit: checks the invariants of DESIGN.md against the store and the ledgers, and counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from closeout.wiring import App
from exceptions_queue.cases import CaseStatus
from workorders.decisions import Outcome
from workorders.push import PushStatus

_PENDING = (PushStatus.ready, PushStatus.pushing, PushStatus.uncertain)


@dataclass
class AuditReport:
    jobs_seen: int = 0
    work_orders: int = 0
    invoices_pushed: int = 0
    ledger_invoices_found: int = 0
    duplicates_in_ledger: list[str] = field(default_factory=list)
    missing_in_ledger: list[str] = field(default_factory=list)
    open_cases: int = 0
    cases_total: int = 0
    accounted: Counter = field(default_factory=Counter)
    pending: list[str] = field(default_factory=list)
    unaccounted: list[str] = field(default_factory=list)

    @property
    def every_job_accounted_for(self) -> bool:
        return not self.unaccounted and not self.pending

    @property
    def ok(self) -> bool:
        return self.every_job_accounted_for and not self.duplicates_in_ledger and not self.missing_in_ledger

    def as_dict(self) -> dict:
        data = asdict(self)
        data["accounted"] = dict(self.accounted)
        data["every_job_accounted_for"] = self.every_job_accounted_for
        data["ok"] = self.ok
        return data


def run_audit(app: App) -> AuditReport:
    """Every job ends in an invoice, a case, or a logged no-invoice decision; no ledger invoice exists twice."""
    report = AuditReport()
    with app.store.unit_of_work() as uow:
        job_ids = uow.raw.job_ids()
        records = uow.push_records.all()
        cases = uow.cases.list(limit=10_000_000)
        counts = uow.cases.count_by_status()
        report.jobs_seen = len(job_ids)
        report.cases_total = sum(counts.values())
        report.open_cases = counts.get(CaseStatus.open, 0) + counts.get(CaseStatus.in_progress, 0)
        case_subjects = {case.subject for case in cases} | {case.work_order_id for case in cases if case.work_order_id}
        pushed = {(r.work_order_id, r.work_order_version) for r in records if r.status is PushStatus.pushed}
        pending = {(r.work_order_id, r.work_order_version) for r in records if r.status in _PENDING}
        report.invoices_pushed = sum(1 for r in records if r.status is PushStatus.pushed)
        for job_id in job_ids:
            order = uow.work_orders.get(job_id)
            if order is not None:
                report.work_orders += 1
            place = _place_of(uow, job_id, order, pushed, pending, case_subjects)
            if place == "pending":
                report.pending.append(job_id)
            elif place is None:
                report.unaccounted.append(job_id)
            else:
                report.accounted[place] += 1
    _check_ledgers(app, records, report)
    return report


def _place_of(uow, job_id, order, pushed, pending, case_subjects) -> str | None:
    if order is None:
        return "case" if job_id in case_subjects else None
    key = (order.id, order.version)
    if key in pushed:
        return "invoice"
    if order.id in case_subjects:
        return "case"
    decisions = uow.decisions.for_work_order(order.id, order.version)
    if any(d.outcome is Outcome.no_invoice for d in decisions):
        return "no_invoice"
    if key in pending:
        return "pending"
    return None


def _check_ledgers(app: App, records, report: AuditReport) -> None:
    for company in app.companies():
        ledger = app.ledger_for(company)
        invoices = list(ledger.list_invoices())
        report.ledger_invoices_found += len(invoices)
        by_doc = Counter(invoice.doc_number for invoice in invoices if invoice.doc_number)
        report.duplicates_in_ledger += sorted(doc for doc, n in by_doc.items() if n > 1)
        ids = {invoice.ledger_id for invoice in invoices}
        report.missing_in_ledger += [
            r.doc_number for r in records
            if r.company == company.id and r.status is PushStatus.pushed and r.ledger_id not in ids
        ]
