"""Replay one case's work order version: rules, draft with today's mappings, and a push of that draft only."""

from __future__ import annotations

from dataclasses import dataclass

from services.config import ConfigError
from services.prepare import draft_for, judge
from services.push.keys import push_keys
from services.runtime import Runtime, UnitOfWork
from connectors.errors import ConnectorError
from exceptions_queue.desk import DecisionError
from exceptions_queue.service import SYSTEM_ACTOR, CaseQueue, override_approved
from workorders.anomalies import Anomaly
from workorders.push import PushStatus

REPLAYED = "replayed"


@dataclass(frozen=True)
class ReplayResult:
    """What the replay did, in words for the case page; ``resolved`` when the case closed because of it."""

    outcome: str
    message: str
    resolved: bool = False
    ledger_id: str | None = None


def replay_case(app: Runtime, case_id: int, *, actor: str) -> ReplayResult:
    """Run the downstream steps for this case's work order version and write the outcome on the case.

    A replay of the same version carries the same idempotency key, so the ledger can never get a second
    invoice for it; a version already pushed is reported, not sent again.
    """
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases, clock=uow.clock)
        case = queue.get(case_id)
        if case.work_order_id is None or case.work_order_version is None:
            raise DecisionError(f"case #{case_id} is not about a work order: there is nothing to replay")
        if not case.is_open:
            raise DecisionError(f"case #{case_id} is {case.status}: reopen it before replaying")
        order = uow.work_orders.get(case.work_order_id, case.work_order_version)
        if order is None:
            raise DecisionError(f"work order {case.work_order_id} v{case.work_order_version} is not in the store")
        try:
            company = app.config.company(case.company or order.company)
        except ConfigError as exc:
            raise DecisionError(f"cannot replay: {exc}") from None
        evaluation = judge(uow, company, order, run_id=f"replay:case-{case_id}")
        uow.decisions.add(evaluation.decisions)
        verdict = str(evaluation.verdict)
        overridden = override_approved(case)
        if verdict == "blocked" and not overridden:
            reasons = "; ".join(a.summary for a in evaluation.anomalies) or "a rule blocked it"
            return _finish(uow, queue, case_id, actor, ReplayResult("still_blocked", f"Still blocked: {reasons}"))
        if verdict == "no_invoice" and not overridden:
            return _finish(uow, queue, case_id, actor,
                           ReplayResult("no_invoice", "The rules now say this job needs no invoice.", resolved=True))
        draft = draft_for(uow, company, evaluation)
        if isinstance(draft, Anomaly):
            return _finish(uow, queue, case_id, actor, ReplayResult("not_drafted", f"Still not drafted: {draft.summary}"))
        record = uow.push_records.add_ready(draft)
        if record.status is PushStatus.pushed:
            return _finish(uow, queue, case_id, actor, ReplayResult(
                "already_invoiced", f"Invoice {record.doc_number} was already in the ledger (id {record.ledger_id}).",
                resolved=True, ledger_id=record.ledger_id))
        if record.status is PushStatus.rejected:
            uow.push_records.refresh_rejected(draft)
        uow.commit()
    try:
        push_keys(app, company, [record.idempotency_key])
    except ConnectorError as exc:
        with app.store.unit_of_work() as uow:
            result = ReplayResult("push_failed", f"The ledger could not be reached; nothing is lost, try again: {exc}")
            return _finish(uow, CaseQueue(uow.cases, clock=uow.clock), case_id, actor, result)
    with app.store.unit_of_work() as uow:
        pushed = uow.push_records.get(record.idempotency_key)
        if pushed is not None and pushed.status is PushStatus.pushed:
            result = ReplayResult("pushed", f"Invoice {pushed.doc_number} for {pushed.amount} created in "
                                  f"{pushed.ledger} (ledger id {pushed.ledger_id}).", resolved=True,
                                  ledger_id=pushed.ledger_id)
        else:
            status = pushed.status if pushed else "unknown"
            error = pushed.last_error if pushed else ""
            result = ReplayResult(f"push_{status}", f"The ledger did not take the invoice ({status}): {error}")
        return _finish(uow, CaseQueue(uow.cases, clock=uow.clock), case_id, actor, result)


def _finish(uow: UnitOfWork, queue: CaseQueue, case_id: int, actor: str, result: ReplayResult) -> ReplayResult:
    queue.record(case_id, actor=actor, action=REPLAYED, note=result.message,
                 after={"outcome": result.outcome, "ledger_id": result.ledger_id})
    if result.resolved:
        queue.close_if_cleared(queue.get(case_id), note=f"cleared by the replay {actor} ran: {result.outcome}")
    uow.commit()
    return result


def replay_as_system(app: Runtime, case_id: int, *, because: str) -> ReplayResult:
    """A replay Closeout starts by itself (another case's fix also clears this one); the reason is logged."""
    with app.store.unit_of_work() as uow:
        CaseQueue(uow.cases, clock=uow.clock).record(case_id, actor=SYSTEM_ACTOR, action="auto_replay", note=because)
        uow.commit()
    return replay_case(app, case_id, actor=SYSTEM_ACTOR)
