"""Prepare: run the rules on each new work order version, log every decision, and queue a draft or a case."""

from __future__ import annotations

from closeout.config import CompanyConfig
from closeout.line_prices import apply_line_prices
from closeout.mapping_overrides import effective_tables
from closeout.steps.counts import StepCounts
from closeout.wiring import App
from exceptions_queue.cases import CaseStatus
from exceptions_queue.service import CaseQueue
from mappings.drafts import build_draft
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.drafts import InvoiceDraft
from workorders.push import PushStatus
from workorders.rules import Evaluation, InvoicedVersion, RuleContext, evaluate
from workorders.work_order import WorkOrder

# Kinds a newer version of the same work order can clear by itself.
_CLEARABLE = (AnomalyCode.rule_blocked, AnomalyCode.missing_mapping)
_INVOICED = (PushStatus.pushed, PushStatus.pushing, PushStatus.uncertain, PushStatus.ready)


def prepare_batch(app: App, *, run_id: str, limit: int = 500) -> StepCounts:
    """Evaluate up to ``limit`` work order versions that have no decisions yet, in one transaction."""
    counts = StepCounts()
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases)
        for order in uow.work_orders.pending_evaluation(limit=limit):
            counts.evaluated += 1
            company = app.config.company(order.company)
            evaluation = judge(uow, company, order, run_id=run_id)
            uow.decisions.add(evaluation.decisions)
            verdict = str(evaluation.verdict)
            if verdict == "blocked":
                counts.blocked += 1
                for anomaly in evaluation.anomalies:
                    _open(queue, anomaly, counts)
                continue
            counts.cases_resolved += _clear_older_cases(queue, uow, order)
            if verdict == "no_invoice":
                counts.no_invoice += 1
                continue
            counts.ready += 1
            draft = draft_for(uow, company, evaluation)
            if isinstance(draft, Anomaly):
                _open(queue, draft, counts)
                continue
            uow.push_records.add_ready(draft)
            counts.drafts += 1
        uow.commit()
    return counts


def rule_context(uow, company: CompanyConfig, order: WorkOrder, *, unstored: tuple[WorkOrder, ...] = ()) -> RuleContext:
    """What the rules may know beyond the order: the ledger's currency, earlier invoices, look-alike jobs.

    ``unstored`` are jobs read but not stored (a preview) that may be look-alikes too.
    """
    invoiced = tuple(
        InvoicedVersion(version=r.work_order_version, ledger=r.ledger, doc_number=r.doc_number, status=r.status.value,
                        amount=r.amount, ledger_id=r.ledger_id)
        for r in uow.push_records.for_work_order(order.id)
        if r.status in _INVOICED and r.work_order_version != order.version
    )
    return RuleContext(ledger_currency=company.currency, invoiced=invoiced,
                       possible_duplicates=tuple(uow.work_orders.possible_duplicates(order)) + tuple(
                           other for other in unstored if other.id != order.id))


def judge(uow, company: CompanyConfig, order: WorkOrder, *, run_id: str,
          unstored: tuple[WorkOrder, ...] = ()) -> Evaluation:
    """The company's rules on one version (with any line price a coordinator fixed), with its context. Stores nothing."""
    order = apply_line_prices(uow, order)
    context = rule_context(uow, company, order, unstored=unstored)
    return evaluate(order, company.rules, run_id=run_id, context=context)


def draft_for(uow, company: CompanyConfig, evaluation: Evaluation) -> InvoiceDraft | Anomaly:
    """The draft of a ready evaluation, built from the order as the rules left it, through today's mappings."""
    return build_draft(evaluation.order, tables=effective_tables(uow, company), ledger=company.ledger.kind)


def _open(queue: CaseQueue, anomaly: Anomaly, counts: StepCounts) -> None:
    _, opened = queue.open_case(anomaly)
    counts.cases_opened[anomaly.code.value] += opened


def _clear_older_cases(queue: CaseQueue, uow, order: WorkOrder) -> int:
    cleared = 0
    for case in uow.cases.list(work_order_id=order.id, kinds=_CLEARABLE, statuses=(CaseStatus.open, CaseStatus.in_progress)):
        if case.work_order_version is not None and case.work_order_version < order.version:
            queue.close_if_cleared(case, note=f"version {order.version} of the job no longer trips this")
            cleared += 1
    return cleared
