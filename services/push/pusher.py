"""The pusher: one company's ledger, the exactly-once steps for one draft, and saving what each push came to."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.config import CompanyConfig
from services.push.pacing import ThrottledLedger
from services.counts import StepCounts
from services.push.evidence import plan_evidence
from services.runtime import Runtime, UnitOfWork
from connectors.errors import RejectedError
from exceptions_queue.service import CaseQueue
from mappings.qbo import customer_addresses as qbo_customer_addresses
from mappings.qbo import to_qbo_invoice
from mappings.xero import contact_addresses, to_xero_invoice
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.drafts import InvoiceDraft
from workorders.ledger_answer import answer_differences
from workorders.ports import LedgerInvoice
from workorders.push import PushRecord, PushStatus
from workorders.totals import sent_amount, tax_difference

DUPLICATE_DOC_NUMBER = "6140"
DUPLICATE_CODES = {DUPLICATE_DOC_NUMBER, "duplicate_invoice_number"}
"""QBO's 6140 and XeroLedger's code for "Invoice # must be unique.": an earlier attempt may have landed."""
DUPLICATE_NAME_CODES = {"6240", "duplicate_name"}
"""QBO's 6240 and XeroLedger's code for a taken customer name: another worker may just have created it."""


@dataclass(frozen=True)
class PushOutcome:
    status: PushStatus
    ledger_id: str | None = None
    error: str = ""
    anomaly: Anomaly | None = None
    found_on_lookup: bool = False
    invoice: LedgerInvoice | None = None
    """The ledger's invoice as it answered: its tax and total are kept, and its tax is checked."""

    @classmethod
    def created(cls, invoice: LedgerInvoice, *, found_on_lookup: bool = False) -> "PushOutcome":
        return cls(status=PushStatus.pushed, ledger_id=invoice.ledger_id, invoice=invoice,
                   found_on_lookup=found_on_lookup)


class Pusher:
    """Pushes one record at a time (the pipeline's ``push_batch`` and a replay's ``push_keys`` share it)."""

    def __init__(self, app: Runtime, company: CompanyConfig, *, sleep: Callable[[float], None] = time.sleep,
                 customers: dict[str, str | Anomaly] | None = None) -> None:
        self.ledger = ThrottledLedger(app.ledger_for(company), sleep=sleep, pacer=app.pacer_for(company))
        self.company = company
        self.sent = False
        self._customers = {} if customers is None else customers  # push_batch: the run's, so one look-up a run
        self._found: dict[str, list[Any]] = {}  # look-ups made ahead for a whole batch (look_up_ahead)
        # beside books kept before Closeout, an invoice made by hand may already carry the doc number: adopt it
        self.adopting = company.ledger.adopt_existing

    def prepare(self, record: PushRecord) -> PushOutcome | dict[str, Any]:
        """The ledger payload to send, or the outcome without sending (found by look-up, or a customer case)."""
        if self._may_exist(record):
            found = self._look_up(record)
            if found is not None:
                return found
        customer = self._customer_ref(record)
        if isinstance(customer, Anomaly):
            return PushOutcome(status=PushStatus.rejected, error=customer.summary, anomaly=customer)
        return invoice_payload(self.company, record, customer)

    def push(self, record: PushRecord) -> PushOutcome:
        """Look up (if an earlier attempt may have landed), resolve the customer, create: one record's push."""
        self.sent = False
        payload = self.prepare(record)
        if isinstance(payload, PushOutcome):
            return payload
        try:
            self.sent = True
            invoice = self.ledger.create_invoice(payload, idempotency_key=record.draft.request_key())
        except RejectedError as exc:
            return self.refused(record, exc)
        return PushOutcome.created(invoice)

    def refused(self, record: PushRecord, exc: RejectedError) -> PushOutcome:
        """The ledger refused the invoice: its doc number may be taken by our own earlier attempt, else a case."""
        if exc.code in DUPLICATE_CODES:
            found = self._look_up(record)
            if found is not None:
                return found
        return PushOutcome(status=PushStatus.rejected, error=exc.message, anomaly=_rejected(record, exc))

    def look_up_ahead(self, records: Sequence[PushRecord]) -> None:
        """One look-up call for every record whose earlier attempt may have landed (``_look_up`` uses it once)."""
        docs = [r.doc_number for r in records if self._may_exist(r) and r.doc_number]
        if docs:
            found = self.ledger.find_invoices(docs)
            self._found = {doc: [i for i in found if i.doc_number == doc] for doc in docs}

    def _may_exist(self, record: PushRecord) -> bool:
        """An earlier attempt may have landed, or (``adopt_existing``) someone made the invoice before Closeout."""
        return record.attempts > 1 or self.adopting

    def _look_up(self, record: PushRecord) -> PushOutcome | None:
        """An earlier attempt may have landed: find it by doc number before sending anything again."""
        known = self._found.pop(record.doc_number, None)
        for invoice in known if known is not None else self.ledger.find_invoices([record.doc_number]):
            if sent_amount(invoice, tax_inclusive=self.company.ledger.amounts_include_tax) == record.amount:
                return PushOutcome.created(invoice, found_on_lookup=True)
            return PushOutcome(status=PushStatus.rejected, error="doc number taken by another amount",
                               anomaly=_doc_number_taken(record, invoice))
        return None

    def _customer_ref(self, record: PushRecord) -> str | Anomaly:
        draft = record.draft
        if draft.customer_ref:
            return draft.customer_ref
        key = f"{draft.customer_name}|{draft.customer_email or ''}"
        if key not in self._customers:
            self._customers[key] = self._resolve_customer(record)
        return self._customers[key]

    def _resolve_customer(self, record: PushRecord) -> str | Anomaly:
        draft = record.draft
        found = self.ledger.find_customers(name=draft.customer_name, email=draft.customer_email)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return _customer_anomaly(record, AnomalyCode.ambiguous_customer, found,
                                     f"{len(found)} customers in the ledger match {draft.customer_name!r}")
        if self.company.ledger.create_customers:
            try:
                return self.ledger.create_customer(name=draft.customer_name, email=draft.customer_email,
                                                   addresses=customer_addresses(self.company, draft))
            except RejectedError as exc:
                if exc.code not in DUPLICATE_NAME_CODES:
                    return _rejected(record, exc)  # the ledger refused the customer: a case with its message
            # another worker created this customer a moment ago: use it if it is the only match
            found = self.ledger.find_customers(name=draft.customer_name, email=draft.customer_email)
            if len(found) == 1:
                return found[0]
            return _customer_anomaly(record, AnomalyCode.ambiguous_customer, found,
                                     f"{len(found)} customers in the ledger match {draft.customer_name!r}")
        return _customer_anomaly(record, AnomalyCode.unknown_customer, [],
                                 f"the ledger has no customer {draft.customer_name!r} and may not create one")


def customer_addresses(company: CompanyConfig, draft: InvoiceDraft) -> dict[str, dict[str, str]]:
    """A new customer's addresses in its ledger's shape."""
    return contact_addresses(draft) if company.ledger.kind == "xero" else qbo_customer_addresses(draft)


def invoice_payload(company: CompanyConfig, record: PushRecord, customer: str) -> dict[str, Any]:
    """The ledger's own invoice body for ``record``: QBO's Invoice JSON or Xero's ACCREC invoice."""
    return draft_payload(company, record.draft, customer)


def draft_payload(company: CompanyConfig, draft: InvoiceDraft, customer: str) -> dict[str, Any]:
    """``invoice_payload`` of a draft (a correction's updated or supplementary invoice has no push record)."""
    if company.ledger.kind == "xero":
        return to_xero_invoice(draft, contact_id=customer, line_amount_types=company.ledger.line_amount_types,
                               status=company.ledger.invoice_status)
    return to_qbo_invoice(draft, customer_ref=customer, multicurrency=company.ledger.multicurrency)


def save_outcome(app: Runtime, record: PushRecord, outcome: PushOutcome, counts: StepCounts) -> None:
    save_outcomes(app, [(record, outcome)], counts)


def save_outcomes(app: Runtime, outcomes: list[tuple[PushRecord, PushOutcome]], counts: StepCounts) -> None:
    """Save outcomes (a batch's answers) in one transaction: their states, evidence plans and cases."""
    with app.store.unit_of_work() as uow:
        outcomes = [(r, o) for r, o in outcomes if not _pushed_meanwhile(uow, r, o)]
        outcomes = _trusted(app, uow, outcomes)
        uow.push_records.mark_many([(r.idempotency_key, o.status, o.ledger_id, o.error) for r, o in outcomes])
        uow.push_records.note_ledger_totals([(r.idempotency_key, o.invoice.tax, o.invoice.total)
                                             for r, o in outcomes if o.status is PushStatus.pushed and o.invoice])
        for record, outcome in outcomes:
            if outcome.status is PushStatus.pushed:
                plan_evidence(app, uow, record)  # what to attach and e-mail, in this same transaction (push_evidence)
                _clear_untrusted(uow, record, outcome)
                counts.cases_resolved += len(CaseQueue(uow.cases).close_refusals_of_invoiced(
                    record.work_order_id, record.work_order_version,
                    note=f"invoice {record.doc_number} of version {record.work_order_version} is now in "
                         f"{record.ledger} (ledger id {outcome.ledger_id}): the refusal no longer stands"))
            anomalies = [outcome.anomaly, _tax_differs(app, record, outcome)]
            for anomaly in filter(None, anomalies):
                _, opened = CaseQueue(uow.cases).open_case(anomaly)
                counts.cases_opened[anomaly.code.value] += opened
        uow.commit()
    for record, outcome in outcomes:
        _count(record, outcome, counts)


def _trusted(app: Runtime, uow: UnitOfWork, outcomes: list[tuple[PushRecord, PushOutcome]]
             ) -> list[tuple[PushRecord, PushOutcome]]:
    """Never record an answer that is not the draft's invoice, nor one ledger id for two drafts.

    A ledger answer with another doc number, amount, currency or (mapped) customer, or with a ledger id another
    draft already holds (here or in this batch), becomes ``uncertain`` with an ``uncertain_push`` case: nothing
    is attached or e-mailed for it, and the next push looks the doc number up before anything is sent again.
    """
    pushed = [(r, o) for r, o in outcomes if o.status is PushStatus.pushed and o.ledger_id]
    if not pushed:
        return outcomes
    record = pushed[0][0]
    held = uow.push_records.holding_ledger_ids(ledger=record.ledger, company=record.company,
                                               ledger_ids=[o.ledger_id for _, o in pushed])
    in_batch = Counter(o.ledger_id for _, o in pushed)
    checked = []
    for record, outcome in outcomes:
        if outcome.status is PushStatus.pushed and outcome.ledger_id:
            tax_inclusive = app.config.company(record.company).ledger.amounts_include_tax
            problems = list(answer_differences(record.draft, record.amount, outcome.invoice, tax_inclusive=tax_inclusive)
                            if outcome.invoice is not None else ())
            holder = held.get(outcome.ledger_id)
            if (holder is not None and holder != record.idempotency_key) or in_batch[outcome.ledger_id] > 1:
                problems.append(f"ledger id {outcome.ledger_id} is already recorded for another draft")
            if problems:
                outcome = _untrusted(record, outcome, problems)
        checked.append((record, outcome))
    return checked


def _untrusted(record: PushRecord, outcome: PushOutcome, problems: list[str]) -> PushOutcome:
    summary = (f"{record.ledger} answered invoice {record.doc_number} with one that is not it: "
               + "; ".join(problems))[:900]
    return PushOutcome(status=PushStatus.uncertain, error=summary, anomaly=Anomaly(
        code=AnomalyCode.uncertain_push, subject=f"{_subject(record)}:answer", company=record.company,
        summary=summary,
        evidence={"doc_number": record.doc_number, "amount": str(record.amount), "currency": record.draft.currency,
                  "answered_ledger_id": outcome.ledger_id, "problems": problems,
                  "answered": {"doc_number": outcome.invoice.doc_number, "subtotal": str(outcome.invoice.subtotal),
                               "total": str(outcome.invoice.total), "currency": outcome.invoice.currency,
                               "customer_ref": outcome.invoice.customer_ref} if outcome.invoice else None},
        work_order_id=record.work_order_id, work_order_version=record.work_order_version,
        suggested_actions=("check_in_ledger", "replay", "ignore")))


def _clear_untrusted(uow: UnitOfWork, record: PushRecord, outcome: PushOutcome) -> None:
    """A later push or look-up found the draft's own invoice: the case about the untrusted answer is cleared."""
    case = uow.cases.find_open(kind=AnomalyCode.uncertain_push, subject=f"{_subject(record)}:answer")
    if case is not None:
        CaseQueue(uow.cases).close_if_cleared(case, note=f"the ledger's invoice {outcome.ledger_id} matches the draft")


def _pushed_meanwhile(uow: UnitOfWork, record: PushRecord, outcome: PushOutcome) -> bool:
    """Another worker took the record over (held past ``stale_after``) and pushed it: drop this late failure."""
    if outcome.status is PushStatus.pushed:
        return False
    current = uow.push_records.get(record.idempotency_key)
    return current is not None and current.status is PushStatus.pushed


def _tax_differs(app: Runtime, record: PushRecord, outcome: PushOutcome) -> Anomaly | None:
    """A tax_mismatch case when the ledger's tax is not the source's, beyond the company's tolerance."""
    if outcome.status is not PushStatus.pushed or outcome.invoice is None:
        return None
    ledger = app.config.company(record.company).ledger
    difference = tax_difference(record.draft, outcome.invoice.tax, tolerance=ledger.tax_tolerance)
    if difference is None:
        return None
    return Anomaly(
        code=AnomalyCode.tax_mismatch, subject=f"{_subject(record)}:tax", company=record.company,
        summary=(f"{record.ledger} computed tax {outcome.invoice.tax} {record.draft.currency} on invoice "
                 f"{record.doc_number}; the source charged {record.draft.source_tax} "
                 f"(difference {difference}, tolerance {ledger.tax_tolerance})"),
        evidence={"doc_number": record.doc_number, "ledger_id": outcome.invoice.ledger_id,
                  "currency": record.draft.currency, "source_tax": str(record.draft.source_tax),
                  "ledger_tax": str(outcome.invoice.tax), "ledger_subtotal": str(outcome.invoice.subtotal),
                  "ledger_total": str(outcome.invoice.total), "difference": str(difference),
                  "tolerance": str(ledger.tax_tolerance),
                  "ship_to": record.draft.ship_to.model_dump() if record.draft.ship_to else None,
                  "lines": [{"description": line.description, "amount": str(line.amount), "tax_code": line.tax_code,
                             "taxable": line.taxable} for line in record.draft.lines]},
        work_order_id=record.work_order_id, work_order_version=record.work_order_version,
        suggested_actions=("correct_in_ledger", "edit_mapping", "ignore"),
    )


def _count(record: PushRecord, outcome: PushOutcome, counts: StepCounts) -> None:
    if outcome.status is PushStatus.pushed:
        counts.pushed += 1
        counts.pushed_amount += record.amount
        invoice = outcome.invoice
        counts.invoices.append({"job": record.draft.doc_number, "work_order": record.work_order_id,
                                "ledger_id": outcome.ledger_id or "", "amount": str(record.amount),
                                "currency": record.draft.currency,
                                "subtotal": str(invoice.subtotal) if invoice else str(record.amount),
                                "tax": str(invoice.tax) if invoice else None,
                                "total": str(invoice.total) if invoice else None,
                                "customer": record.draft.customer_name})
    elif outcome.status is PushStatus.rejected:
        counts.rejected += 1
    elif outcome.status is PushStatus.uncertain:
        counts.uncertain += 1


def _subject(record: PushRecord) -> str:
    return f"{record.work_order_id}@v{record.work_order_version}:{record.ledger}"


def _rejected(record: PushRecord, exc: RejectedError) -> Anomaly:
    return Anomaly(
        code=AnomalyCode.ledger_rejected, subject=_subject(record), company=record.company,
        summary=f"{record.ledger} refused invoice {record.doc_number}: {exc.message}",
        evidence={"ledger": record.ledger, "code": exc.code, "message": exc.message, "detail": exc.detail,
                  "doc_number": record.doc_number, "amount": str(record.amount)},
        work_order_id=record.work_order_id, work_order_version=record.work_order_version,
        suggested_actions=("edit_and_replay", "ignore"),
    )


def _doc_number_taken(record: PushRecord, invoice) -> Anomaly:
    return Anomaly(
        code=AnomalyCode.ledger_rejected, subject=_subject(record), company=record.company,
        summary=(f"{record.ledger} already has invoice {record.doc_number} for {invoice.subtotal} before tax "
                 f"({invoice.total} with tax), not this job's {record.amount}"),
        evidence={"ledger_id": invoice.ledger_id, "ledger_subtotal": str(invoice.subtotal),
                  "ledger_total": str(invoice.total), "amount": str(record.amount)},
        work_order_id=record.work_order_id, work_order_version=record.work_order_version,
        suggested_actions=("change_doc_number_and_replay", "ignore"),
    )


def _customer_anomaly(record: PushRecord, code: AnomalyCode, candidates: list[str], summary: str) -> Anomaly:
    return Anomaly(
        code=code, subject=_subject(record), company=record.company, summary=summary,
        evidence={"customer_name": record.draft.customer_name, "customer_email": record.draft.customer_email,
                  "candidates": candidates},
        work_order_id=record.work_order_id, work_order_version=record.work_order_version,
        suggested_actions=("choose_customer", "add_customer_mapping"),
    )


def give_up(app: Runtime, sent: Sequence[PushRecord], unsent: Sequence[PushRecord], error: str, counts: StepCounts,
            *, released: str | None = None) -> None:
    """Before a failed request's error is re-raised: what was sent is ``uncertain`` (it may have landed, and is
    looked up before any resend), what was not is ``ready`` again, noted ``released`` (default: the error)."""
    for record in sent:
        save_outcome(app, record, PushOutcome(status=PushStatus.uncertain, error=error), counts)
    for record in unsent:
        save_outcome(app, record, PushOutcome(status=PushStatus.ready,
                                              error=f"released: {error}" if released is None else released), counts)
