"""Prepare: run the rules on each new work order version, log every decision, and queue a draft or a case."""

from __future__ import annotations

from closeout.steps.counts import StepCounts
from closeout.wiring import App
from exceptions_queue.service import CaseQueue
from mappings.drafts import build_draft
from exceptions_queue.cases import CaseStatus
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.push import PushStatus
from workorders.rules import evaluate
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
            evaluation = evaluate(order, company.rules, run_id=run_id)
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
            earlier = _earlier_invoice(uow, order)
            if earlier is not None:
                _open(queue, _changed_after_invoiced(order, earlier), counts)
                continue
            draft = build_draft(order, tables=company.mappings, ledger=company.ledger.kind)
            if isinstance(draft, Anomaly):
                _open(queue, draft, counts)
                continue
            uow.push_records.add_ready(draft)
            counts.drafts += 1
        uow.commit()
    return counts


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


def _earlier_invoice(uow, order: WorkOrder):
    """A push of an older version: the job changed after it was (or was about to be) invoiced."""
    for record in uow.push_records.for_work_order(order.id):
        if record.work_order_version != order.version and record.status in _INVOICED:
            return record
    return None


def _changed_after_invoiced(order: WorkOrder, record) -> Anomaly:
    return Anomaly(
        code=AnomalyCode.changed_after_invoiced,
        subject=f"{order.id}@v{order.version}",
        company=order.company,
        summary=(
            f"Job {order.job_number} changed after version {record.work_order_version} was invoiced "
            f"({record.doc_number}, {record.amount}); Closeout will not send a second invoice by itself."
        ),
        evidence={"invoiced_version": record.work_order_version, "doc_number": record.doc_number,
                  "ledger_id": record.ledger_id, "new_version": order.version, "new_subtotal": str(order.subtotal)},
        work_order_id=order.id,
        work_order_version=order.version,
        suggested_actions=("credit_and_reissue", "ignore_change"),
    )
