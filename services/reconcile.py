"""Reconciliation: what the push records say was invoiced against what each ledger actually holds.

Findings (``Finding.kind``):

    missing_in_ledger      a pushed record's ledger id is not among the ledger's invoices (deleted there)
    voided_in_ledger       the ledger's invoice is VOIDED or DELETED (Xero's status; a QBO void is read from
                           the zeroed amounts and the "Voided" note it leaves)
    amount_mismatch        the ledger's lines differ from the pushed draft's: its subtotal, or its total when
                           the lines include tax (Xero Inclusive); tax is never compared with a subtotal
    currency_mismatch      the ledger's invoice is in another currency than the draft
    tax_changed_in_ledger  the ledger's tax now differs from the tax it computed when it created the invoice
    customer_mismatch      the draft named a mapped customer and the ledger's invoice bills another one
    duplicate_doc_number   two live ledger invoices carry one doc number

Each finding opens (or finds open) a ``reconciliation_mismatch`` case, so running it twice adds nothing.
Payments are not findings: each pushed invoice's balance and state (``workorders.payments``) are read back
and kept on its push record, where ``closeout explain``, the case page and a correction see them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from services.runtime import Runtime
from exceptions_queue.service import CaseQueue
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.correction_plan import StepKind
from workorders.correction_steps import CorrectionRecord, invoiced_now
from workorders.payments import PaymentReading, outstanding_by_currency, read_payment
from workorders.push import PushRecord, PushStatus
from workorders.totals import compare_totals

GONE = {"VOIDED", "DELETED"}


@dataclass(frozen=True)
class Finding:
    company: str
    kind: str
    doc_number: str
    ledger_id: str = ""
    expected: str = ""
    found: str = ""
    work_order_id: str | None = None
    work_order_version: int | None = None

    def anomaly(self, ledger: str) -> Anomaly:
        subject = f"reconcile:{self.company}:{self.kind}:{self.doc_number}:{self.ledger_id}"
        return Anomaly(
            code=AnomalyCode.reconciliation_mismatch, subject=subject, company=self.company,
            summary=f"{ledger} invoice {self.doc_number}: {self.kind.replace('_', ' ')}"
                    + (f" (expected {self.expected}, found {self.found})" if self.expected or self.found else ""),
            evidence={**asdict(self), "ledger": ledger}, work_order_id=self.work_order_id,
            work_order_version=self.work_order_version,
            suggested_actions=("check_in_ledger", "replay", "ignore"),
        )


@dataclass
class ReconcileReport:
    companies: list[str] = field(default_factory=list)
    records_checked: int = 0
    ledger_invoices: int = 0
    findings: list[Finding] = field(default_factory=list)
    cases_opened: int = 0
    payments: list[PaymentReading] = field(default_factory=list)

    def payment_summary(self) -> str:
        """"46 unpaid, 3 paid, 1 part_paid; owed 4210.00 USD, 331.00 NZD" ("" when no ledger said)."""
        counts, owed = outstanding_by_currency(self.payments)
        if not counts:
            return ""
        states = ", ".join(f"{n} {state}" for state, n in counts.most_common())
        return states + ("; owed " + ", ".join(f"{amount} {cur}" for cur, amount in owed.items()) if owed else "")

    @property
    def ok(self) -> bool:
        return not self.findings

    def rows(self) -> list[dict[str, Any]]:
        """One row per finding: the table artifact's and the CLI's shape."""
        return [{"company": f.company, "finding": f.kind, "doc number": f.doc_number, "ledger id": f.ledger_id,
                 "expected": f.expected, "found": f.found, "work order": f.work_order_id or ""}
                for f in self.findings]

    def as_dict(self) -> dict[str, Any]:
        return {"companies": self.companies, "records_checked": self.records_checked,
                "ledger_invoices": self.ledger_invoices, "cases_opened": self.cases_opened, "ok": self.ok,
                "findings": [asdict(f) for f in self.findings],
                "payments": [{"idempotency_key": p.idempotency_key, "state": p.state.value, "balance": str(p.balance),
                              "currency": p.currency} for p in self.payments]}


def compare(company: str, records: list[PushRecord], invoices: list[Any], *,
            tax_inclusive: bool = False) -> list[Finding]:
    """Pure comparison of one company's pushed records with its ledger invoices (``LedgerInvoice``-shaped).

    ``tax_inclusive``: the company's drafts carry prices that include tax (``LedgerConfig.amounts_include_tax``).
    """
    findings: list[Finding] = []
    by_id = {invoice.ledger_id: invoice for invoice in invoices}
    for record in records:
        base = dict(company=company, doc_number=record.doc_number, ledger_id=record.ledger_id or "",
                    work_order_id=record.work_order_id, work_order_version=record.work_order_version)
        invoice = by_id.get(record.ledger_id or "")
        if invoice is None:
            findings.append(Finding(kind="missing_in_ledger", **base))
            continue
        status = str(getattr(invoice, "status", "") or "")
        if status in GONE:
            findings.append(Finding(kind="voided_in_ledger", found=status, **base))
            continue
        for difference in compare_totals(record.amount, record.draft.currency, invoice, tax_inclusive=tax_inclusive,
                                         recorded_tax=record.ledger_tax):
            findings.append(Finding(kind=difference.kind, expected=difference.expected, found=difference.found, **base))
        mapped = record.draft.customer_ref
        if mapped and invoice.customer_ref != mapped:
            findings.append(Finding(kind="customer_mismatch", expected=mapped, found=invoice.customer_ref, **base))
    live: dict[str, list[Any]] = defaultdict(list)
    for invoice in invoices:
        if invoice.doc_number and str(getattr(invoice, "status", "") or "") not in GONE:
            live[invoice.doc_number].append(invoice)
    for doc_number, same in sorted(live.items()):
        if len(same) > 1:
            ids = ", ".join(sorted(invoice.ledger_id for invoice in same))
            findings.append(Finding(company=company, kind="duplicate_doc_number", doc_number=doc_number,
                                    ledger_id=ids, expected="1", found=str(len(same))))
    return findings


def as_corrected(records: list[PushRecord], corrections: dict[str, list[CorrectionRecord]]) -> list[PushRecord]:
    """Pure: what each pushed invoice should say after its corrections, as records ``compare`` can check.

    An invoice a correction updated is expected at its last update; one it voided is expected voided (not
    compared: the finding would be Closeout's own doing); a supplementary invoice a correction created is
    expected as a record of its own. Credit notes are not invoices: ``closeout audit`` counts them.
    """
    expected: list[PushRecord] = []
    for record in records:
        now = invoiced_now(record.work_order_version, record.draft, corrections.get(record.work_order_id, ()))
        current, voided = record, False
        for done in sorted(now.steps, key=lambda r: r.step.to_version):
            step = done.step
            if step.invoice_ledger_id != record.ledger_id:
                continue
            if step.kind is StepKind.update_invoice and step.draft is not None:
                current = current.model_copy(update={"amount": step.amount, "draft": step.draft, "ledger_tax": None})
            elif step.kind is StepKind.void_invoice:
                voided = True
            elif step.kind is StepKind.supplementary_invoice and step.draft is not None and done.ledger_id:
                expected.append(record.model_copy(update={
                    "idempotency_key": step.key, "doc_number": step.doc_number, "amount": step.amount,
                    "draft": step.draft, "ledger_id": done.ledger_id, "ledger_tax": None,
                    "work_order_version": step.to_version}))
        if not voided:
            expected.append(current)
    return expected


def read_payments(records: list[PushRecord], invoices: list[Any]) -> list[PaymentReading]:
    """Pure: the payment state of each pushed record's invoice the ledger listed (missing ones are findings)."""
    by_id = {invoice.ledger_id: invoice for invoice in invoices}
    readings = (read_payment(record.idempotency_key, by_id[record.ledger_id], currency=record.draft.currency)
                for record in records if record.ledger_id in by_id)
    return [reading for reading in readings if reading is not None]


def reconcile(app: Runtime, *, company_id: str | None = None) -> ReconcileReport:
    """Compare every (or one) company's pushed records with its ledger; open a case per finding."""
    report = ReconcileReport()
    companies = [app.config.company(company_id)] if company_id else list(app.companies())
    for company in companies:
        with app.store.unit_of_work() as uow:
            pushed = [r for r in uow.push_records.all(status=PushStatus.pushed) if r.company == company.id]
            records = as_corrected(pushed, uow.corrections.for_work_orders([r.work_order_id for r in pushed]))
        invoices = list(app.ledger_for(company).list_invoices())
        findings = compare(company.id, records, invoices, tax_inclusive=company.ledger.amounts_include_tax)
        payments = read_payments(records, invoices)
        with app.store.unit_of_work() as uow:
            uow.push_records.note_payments(payments)
            queue = CaseQueue(uow.cases)
            report.cases_opened += sum(queue.open_case(f.anomaly(company.ledger.kind))[1] for f in findings)
            uow.commit()
        report.companies.append(company.id)
        report.records_checked += len(records)
        report.ledger_invoices += len(invoices)
        report.findings += findings
        report.payments += payments
    return report
