"""Push: send claimed drafts to the company's ledger exactly once, looking before any resend."""

from __future__ import annotations

from dataclasses import dataclass

from closeout.config import CompanyConfig
from closeout.steps.counts import StepCounts
from closeout.wiring import App
from connectors.errors import FatalError, RejectedError, RetriableError
from exceptions_queue.service import CaseQueue
from mappings.qbo_invoice import to_qbo_invoice
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.push import PushRecord, PushStatus

DUPLICATE_DOC_NUMBER = "6140"


@dataclass(frozen=True)
class PushOutcome:
    status: PushStatus
    ledger_id: str | None = None
    error: str = ""
    anomaly: Anomaly | None = None
    found_on_lookup: bool = False


def push_batch(app: App, company: CompanyConfig, *, limit: int = 30) -> StepCounts:
    """Claim up to ``limit`` drafts of one company and push them; a retriable failure re-raises after saving state."""
    counts = StepCounts()
    with app.store.unit_of_work() as uow:
        records = uow.push_records.claim(ledger=company.ledger.kind, company=company.id, limit=limit)
        uow.commit()
    pusher = _Pusher(app, company)
    for index, record in enumerate(records):
        try:
            outcome = pusher.push(record)
        except (RetriableError, FatalError) as exc:
            state = PushStatus.uncertain if pusher.sent else PushStatus.ready
            _save(app, record, PushOutcome(status=state, error=str(exc)), counts)
            for rest in records[index + 1:]:
                _save(app, rest, PushOutcome(status=PushStatus.ready, error="released: batch stopped"), counts)
            raise
        _save(app, record, outcome, counts)
    return counts


class _Pusher:
    def __init__(self, app: App, company: CompanyConfig) -> None:
        self.ledger = app.ledger_for(company)
        self.company = company
        self.sent = False
        self._customers: dict[str, str | Anomaly] = {}

    def push(self, record: PushRecord) -> PushOutcome:
        self.sent = False
        if record.attempts > 1:
            found = self._look_up(record)
            if found is not None:
                return found
        customer = self._customer_ref(record)
        if isinstance(customer, Anomaly):
            return PushOutcome(status=PushStatus.rejected, error=customer.summary, anomaly=customer)
        payload = to_qbo_invoice(record.draft, customer_ref=customer)
        try:
            self.sent = True
            invoice = self.ledger.create_invoice(payload, idempotency_key=record.idempotency_key)
        except RejectedError as exc:
            if exc.code == DUPLICATE_DOC_NUMBER:
                found = self._look_up(record)
                if found is not None:
                    return found
            return PushOutcome(status=PushStatus.rejected, error=exc.message, anomaly=_rejected(record, exc))
        return PushOutcome(status=PushStatus.pushed, ledger_id=invoice.ledger_id)

    def _look_up(self, record: PushRecord) -> PushOutcome | None:
        """An earlier attempt may have landed: find it by doc number before sending anything again."""
        for invoice in self.ledger.find_invoices([record.doc_number]):
            if invoice.total == record.amount:
                return PushOutcome(status=PushStatus.pushed, ledger_id=invoice.ledger_id, found_on_lookup=True)
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
            return self.ledger.create_customer(name=draft.customer_name, email=draft.customer_email)
        return _customer_anomaly(record, AnomalyCode.unknown_customer, [],
                                 f"the ledger has no customer {draft.customer_name!r} and may not create one")


def _save(app: App, record: PushRecord, outcome: PushOutcome, counts: StepCounts) -> None:
    with app.store.unit_of_work() as uow:
        uow.push_records.mark(record.idempotency_key, outcome.status, ledger_id=outcome.ledger_id, error=outcome.error)
        if outcome.anomaly is not None:
            _, opened = CaseQueue(uow.cases).open_case(outcome.anomaly)
            counts.cases_opened[outcome.anomaly.code.value] += opened
        uow.commit()
    if outcome.status is PushStatus.pushed:
        counts.pushed += 1
        counts.pushed_amount += record.amount
        counts.invoices.append({"job": record.draft.doc_number, "work_order": record.work_order_id,
                                "ledger_id": outcome.ledger_id or "", "amount": str(record.amount),
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
        summary=(f"{record.ledger} already has invoice {record.doc_number} for {invoice.total}, "
                 f"not this job's {record.amount}"),
        evidence={"ledger_id": invoice.ledger_id, "ledger_total": str(invoice.total), "amount": str(record.amount)},
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
