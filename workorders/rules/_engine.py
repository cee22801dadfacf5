"""Running the rules over one work order version: every decision kept, one verdict, a case when blocked."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workorders.anomalies import Anomaly, AnomalyCode
from workorders.decisions import Outcome, RuleDecision
from workorders.json_values import NotPlainJsonError, plain_json
from workorders.rules._model import NO_CONTEXT, Check, Rule, RuleContext, RuleSettings, blocked
from workorders.rules.billing import DEFAULT_RULES
from workorders.work_order import WorkOrder


class Verdict(StrEnum):
    ready = "ready"
    blocked = "blocked"
    no_invoice = "no_invoice"


class Evaluation(BaseModel):
    """The rules' answer for one work order version: every decision, the verdict, and the anomalies to queue.

    ``order`` is the work order as it will be billed: the stored version with every transform applied.
    """

    model_config = ConfigDict(frozen=True)

    work_order_id: str
    work_order_version: int
    verdict: Verdict
    decisions: tuple[RuleDecision, ...]
    order: WorkOrder
    anomalies: tuple[Anomaly, ...] = ()
    skipped: tuple[str, ...] = ()
    """Rule ids the company disabled: not evaluated, named so 'why was this not checked?' has an answer."""

    @property
    def blocking(self) -> tuple[RuleDecision, ...]:
        return tuple(d for d in self.decisions if d.outcome is Outcome.block)


def evaluate(
    order: WorkOrder,
    settings: RuleSettings,
    *,
    run_id: str,
    rules: Sequence[Rule] = DEFAULT_RULES,
    context: RuleContext = NO_CONTEXT,
    decided_at: datetime | None = None,
) -> Evaluation:
    """Run every enabled rule that applies to the order's job type, in order; never raises for any order.

    A ``transform`` replaces the order the later rules see. The verdict is ``no_invoice`` if any rule says
    so (a cancelled job needs no case, whatever else is wrong with it) unless a rule that beats it blocks,
    else ``blocked`` if any rule blocks, else ``ready``. Blocks open one ``rule_blocked`` anomaly carrying
    the blocking decisions, plus one anomaly per rule with a case kind of its own.
    """
    decisions: list[RuleDecision] = []
    skipped: list[str] = []
    by_id = {r.id: r for r in rules}
    current = order
    for item in rules:
        if not item.enabled_for(settings):
            skipped.append(item.id)
            continue
        if not item.applies_to(current, settings):
            continue
        found = run_check(item, current, settings, context)
        if found.outcome is Outcome.transform and found.result is not None:
            current = found.result
        decisions.append(
            RuleDecision(
                rule_id=item.id, rule_version=item.version, work_order_id=order.id,
                work_order_version=order.version, outcome=found.outcome, reason=found.reason,
                evidence=dict(found.evidence), run_id=run_id, decided_at=decided_at,
            )
        )
    blocking = [d for d in decisions if d.outcome is Outcome.block]
    overriding = [d for d in blocking if by_id[d.rule_id].beats_no_invoice]
    if overriding:
        verdict = Verdict.blocked
        blocking = overriding
    elif any(d.outcome is Outcome.no_invoice for d in decisions):
        verdict = Verdict.no_invoice
    else:
        verdict = Verdict.blocked if blocking else Verdict.ready
    anomalies = _anomalies(order, blocking, by_id) if verdict is Verdict.blocked else ()
    return Evaluation(
        work_order_id=order.id, work_order_version=order.version, verdict=verdict,
        decisions=tuple(decisions), order=current, anomalies=anomalies, skipped=tuple(skipped),
    )


def run_check(item: Rule, order: WorkOrder, settings: RuleSettings, context: RuleContext = NO_CONTEXT) -> Check:
    """A rule that crashes blocks the order with the error as its reason: a bug must not bill, nor stop the run."""
    try:
        found = item.check(order, settings, context)
    except Exception as exc:  # noqa: BLE001 - the point: any failure of a rule is a decision, not a crash
        error = type(exc).__name__
        return blocked(f"rule {item.id} failed: {error}: {exc}", error=error, message=str(exc))
    well_formed = isinstance(found, Check) and isinstance(found.outcome, Outcome) and isinstance(found.reason, str)
    if not well_formed or not isinstance(found.evidence, Mapping):
        return blocked(f"rule {item.id} returned a malformed result: {found!r:.200}", returned=repr(found)[:200])
    if found.outcome is Outcome.transform and not _same_job(found.result, order):
        return blocked(f"rule {item.id} transformed into something that is not this job", returned=repr(found)[:200])
    try:  # evidence is stored and shown as JSON: anything else (a Decimal, a date) becomes its text now
        evidence = _as_json(found.evidence)
    except (TypeError, ValueError) as exc:
        return blocked(f"rule {item.id} gave evidence that is not JSON: {exc}", returned=repr(found)[:200])
    return Check(found.outcome, found.reason, evidence, found.result)


def _as_json(evidence: Mapping) -> dict:
    """The evidence as its JSON text would read back; plain JSON values are copied without the text round trip."""
    try:
        return plain_json(evidence if type(evidence) is dict else dict(evidence))
    except NotPlainJsonError:
        return json.loads(json.dumps(dict(evidence), default=str))


def _same_job(result: object, order: WorkOrder) -> bool:
    """A transform may change what is billed, never which job and version it is."""
    return isinstance(result, WorkOrder) and (result.id, result.version, result.company) == (
        order.id, order.version, order.company)


def _anomalies(order: WorkOrder, blocking: list[RuleDecision], rules: Mapping[str, Rule]) -> tuple[Anomaly, ...]:
    """One ``rule_blocked`` anomaly for the ordinary blocks, and one per rule that opens its own kind of case."""
    found: list[Anomaly] = []
    grouped = [d for d in blocking if d.rule_id not in rules or rules[d.rule_id].case_kind is AnomalyCode.rule_blocked]
    if grouped:
        reasons = "; ".join(f"{d.rule_id}: {d.reason}" for d in grouped)
        summary = f"Job {order.job_number} ({order.customer.name}) is blocked by {reasons}"
        found.append(_anomaly(order, AnomalyCode.rule_blocked, summary, grouped, rules))
    for decision in blocking:
        item = rules.get(decision.rule_id)
        if item is not None and item.case_kind is not AnomalyCode.rule_blocked:
            summary = f"Job {order.job_number} ({order.customer.name}) {decision.reason}"
            found.append(_anomaly(order, item.case_kind, summary, [decision], rules))
    return tuple(found)


def _anomaly(order: WorkOrder, code: AnomalyCode, summary: str, decisions: list[RuleDecision],
             rules: Mapping[str, Rule]) -> Anomaly:
    actions = tuple(dict.fromkeys(a for d in decisions for a in (rules[d.rule_id].actions if d.rule_id in rules else ())))
    return Anomaly(
        code=code, subject=f"{order.id}@v{order.version}", company=order.company, summary=summary,
        evidence={"decisions": [d.model_dump(mode="json") for d in decisions]},
        work_order_id=order.id, work_order_version=order.version, suggested_actions=actions,
    )
