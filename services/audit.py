"""The audit: judges the invariants of DESIGN.md against the store and the ledgers, and counts.

1. nothing is lost: every source job ends in an invoice, a case or a logged no-invoice decision, and every
   message is attached to a work order, in a case, or ignored by a person (services/audit_mail.py);
2. exactly one invoice: no two live ledger invoices for one doc number (one work order version), no two
   pushed records for one work order version and ledger;
3. every push record agrees with the ledger: pushed means found there with the same amount and customer
   (the comparison is services/reconcile.py's ``compare``; the audit opens no case).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from services.audit_mail import MailAudit, audit_mail
from services.outcomes import billed_nothing
from services.reconcile import Finding, as_corrected, compare
from services.runtime import Runtime, UnitOfWork
from exceptions_queue.cases import CaseKind, CaseStatus
from workorders.correction_plan import StepKind
from workorders.correction_steps import invoiced_now
from workorders.decisions import Outcome
from workorders.push import PushStatus
from workorders.work_order import WorkOrder

_PENDING = (PushStatus.ready, PushStatus.pushing, PushStatus.uncertain)


@dataclass
class AuditReport:
    jobs_seen: int = 0
    work_orders: int = 0
    invoices_pushed: int = 0
    ledger_invoices_found: int = 0
    duplicates_in_ledger: list[str] = field(default_factory=list)
    duplicate_push_records: list[str] = field(default_factory=list)
    missing_in_ledger: list[str] = field(default_factory=list)
    ledger_disagreements: list[dict] = field(default_factory=list)
    open_cases: int = 0
    cases_total: int = 0
    accounted: Counter = field(default_factory=Counter)
    pending: list[str] = field(default_factory=list)
    unaccounted: list[str] = field(default_factory=list)
    mail: MailAudit = field(default_factory=MailAudit)

    @property
    def every_job_accounted_for(self) -> bool:
        return not self.unaccounted and not self.pending

    @property
    def every_message_accounted_for(self) -> bool:
        return self.mail.ok

    @property
    def exactly_one_invoice(self) -> bool:
        return not self.duplicates_in_ledger and not self.duplicate_push_records

    @property
    def ledger_agrees(self) -> bool:
        return not self.missing_in_ledger and not self.ledger_disagreements

    @property
    def failures(self) -> list[str]:
        """The names of the invariants that do not hold (empty when the audit passes)."""
        checks = {"every_job_accounted_for": self.every_job_accounted_for,
                  "every_message_accounted_for": self.every_message_accounted_for,
                  "exactly_one_invoice": self.exactly_one_invoice, "ledger_agrees": self.ledger_agrees}
        return [name for name, holds in checks.items() if not holds]

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        data = asdict(self)
        data["accounted"] = dict(self.accounted)
        data["mail"] = {"messages_seen": self.mail.messages_seen, "accounted": dict(self.mail.accounted),
                        "unaccounted": self.mail.unaccounted, "lost": self.mail.lost}
        for name in ("every_job_accounted_for", "every_message_accounted_for", "exactly_one_invoice",
                     "ledger_agrees", "failures", "ok"):
            data[name] = getattr(self, name)
        return data


def run_audit(app: Runtime) -> AuditReport:
    """Judge every invariant; the report lists the failing items (``report.failures`` names the invariants)."""
    report = AuditReport()
    with app.store.unit_of_work() as uow:
        job_ids = uow.raw.job_ids()
        records = uow.push_records.all()
        corrections = uow.corrections.for_work_orders(sorted({r.work_order_id for r in records}))
        cases = uow.cases.list(limit=10_000_000)
        counts = uow.cases.count_by_status()
        report.jobs_seen = len(job_ids)
        report.cases_total = sum(counts.values())
        report.open_cases = counts.get(CaseStatus.open, 0) + counts.get(CaseStatus.in_progress, 0)
        case_subjects = {case.subject for case in cases} | {case.work_order_id for case in cases if case.work_order_id}
        billed_nothing_ids = {case.work_order_id for case in cases if case.work_order_id
                              and case.kind is CaseKind.rule_blocked and case.status is CaseStatus.resolved}
        pushed = {(r.work_order_id, r.work_order_version) for r in records if r.status is PushStatus.pushed}
        pushed |= {(r.work_order_id, invoiced_now(r.work_order_version, r.draft, corrections.get(r.work_order_id, ())
                                                  ).version) for r in records if r.status is PushStatus.pushed}
        pending = {(r.work_order_id, r.work_order_version) for r in records if r.status in _PENDING}
        report.invoices_pushed = sum(1 for r in records if r.status is PushStatus.pushed)
        for job_id in job_ids:
            order = uow.work_orders.get(job_id)
            if order is not None:
                report.work_orders += 1
            place = _place_of(uow, job_id, order, pushed, pending, case_subjects, billed_nothing_ids)
            if place == "pending":
                report.pending.append(job_id)
            elif place is None:
                report.unaccounted.append(job_id)
            else:
                report.accounted[place] += 1
        report.mail = audit_mail(uow, cases, app.home / "mail" / "raw")
    report.duplicate_push_records = _duplicate_records(records)
    _check_ledgers(app, records, corrections, report)
    return report


def _place_of(uow: UnitOfWork, job_id: str, order: WorkOrder | None, pushed: set[tuple[str, int]],
              pending: set[tuple[str, int]], case_subjects: set[str],
              billed_nothing_ids: frozenset[str] | set[str] = frozenset()) -> str | None:
    if order is None:
        return "case" if job_id in case_subjects else None
    key = (order.id, order.version)
    if key in pushed:
        return "invoice"
    if order.id in case_subjects:
        # a blocked job a person decided to bill nothing for ends in that logged decision, not in its closed case
        if order.id in billed_nothing_ids and billed_nothing(uow, uow.decisions.for_work_order(order.id,
                                                                                               order.version)):
            return "no_invoice"
        return "case"
    decisions = uow.decisions.for_work_order(order.id, order.version)
    if any(d.outcome is Outcome.no_invoice for d in decisions):
        return "no_invoice"
    if key in pending:
        return "pending"
    if not decisions and order.version > 1:
        # A version no run evaluated yet (a linked email's evidence, say): the next run decides it, and until
        # then the job stands where its previous version ended.
        previous = uow.work_orders.get(order.id, order.version - 1)
        return (_place_of(uow, job_id, previous, pushed, pending, case_subjects, billed_nothing_ids)
                if previous is not None else None)
    return None


def _duplicate_records(records) -> list[str]:
    """Work order versions pushed more than once to one ledger (``id@version/ledger``)."""
    seen = Counter((r.work_order_id, r.work_order_version, r.ledger) for r in records if r.status is PushStatus.pushed)
    return sorted(f"{wo}@{version}/{ledger}" for (wo, version, ledger), n in seen.items() if n > 1)


def _check_ledgers(app: Runtime, records, corrections, report: AuditReport) -> None:
    """Each ledger document as the push records and their corrections say it should be, and each credit note
    made once: a correction's invoices, less its credit notes, bill what the latest corrected version bills."""
    for company in app.companies():
        ledger = app.ledger_for(company)
        invoices = list(ledger.list_invoices())
        report.ledger_invoices_found += len(invoices)
        mine = [r for r in records if r.company == company.id and r.status is PushStatus.pushed]
        expected = as_corrected(mine, corrections)
        for finding in compare(company.id, expected, invoices, tax_inclusive=company.ledger.amounts_include_tax):
            _note(report, finding)
        for record in mine:
            _check_credits(ledger, record, corrections.get(record.work_order_id, ()), expected, report)


def _check_credits(ledger, record, steps, expected, report: AuditReport) -> None:
    now = invoiced_now(record.work_order_version, record.draft, steps)
    if not now.corrected:
        return
    credits = [r for r in now.steps if r.step.kind is StepKind.credit_note]
    for credit in credits:
        found = ledger.find_credit_notes([credit.step.doc_number])
        if len(found) != 1:
            report.duplicates_in_ledger.append(f"{credit.step.doc_number} ({len(found)} credit notes)")
    billed = sum((r.amount for r in expected if r.work_order_id == record.work_order_id and r.ledger == record.ledger),
                 Decimal("0.00")) - sum((c.step.amount for c in credits), Decimal("0.00"))
    if billed != now.amount:
        report.ledger_disagreements.append({"kind": "corrected_total", "doc_number": record.doc_number,
                                            "expected": str(now.amount), "found": str(billed),
                                            "work_order_id": record.work_order_id})


def _note(report: AuditReport, finding: Finding) -> None:
    if finding.kind == "duplicate_doc_number":
        report.duplicates_in_ledger.append(finding.doc_number)
    elif finding.kind == "missing_in_ledger":
        report.missing_in_ledger.append(finding.doc_number)
    else:
        report.ledger_disagreements.append(asdict(finding))
