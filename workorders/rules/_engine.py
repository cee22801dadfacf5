"""Running the rules over one work order version: every decision kept, one verdict, a case when blocked."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workorders.anomalies import Anomaly, AnomalyCode
from workorders.decisions import Outcome, RuleDecision
from workorders.rules._model import Check, Rule, RuleSettings, blocked
from workorders.rules.billing import DEFAULT_RULES
from workorders.work_order import WorkOrder


class Verdict(StrEnum):
    ready = "ready"
    blocked = "blocked"
    no_invoice = "no_invoice"


class Evaluation(BaseModel):
    """The rules' answer for one work order version: every decision, the verdict, and the anomalies to queue."""

    model_config = ConfigDict(frozen=True)

    work_order_id: str
    work_order_version: int
    verdict: Verdict
    decisions: tuple[RuleDecision, ...]
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
    decided_at: datetime | None = None,
) -> Evaluation:
    """Run every enabled rule that applies to the order's job type; never raises for any order.

    The verdict is ``no_invoice`` if any rule says so (a cancelled job needs no case, whatever else is
    wrong with it), else ``blocked`` if any rule blocks, else ``ready``. A blocked order yields exactly one
    ``rule_blocked`` anomaly carrying the blocking decisions.
    """
    decisions: list[RuleDecision] = []
    skipped: list[str] = []
    for item in rules:
        if item.id in settings.disabled:
            skipped.append(item.id)
        elif item.applies_to(order):
            found = run_check(item, order, settings)
            decisions.append(
                RuleDecision(
                    rule_id=item.id, rule_version=item.version, work_order_id=order.id,
                    work_order_version=order.version, outcome=found.outcome, reason=found.reason,
                    evidence=dict(found.evidence), run_id=run_id, decided_at=decided_at,
                )
            )
    outcomes = {d.outcome for d in decisions}
    if Outcome.no_invoice in outcomes:
        verdict = Verdict.no_invoice
    elif Outcome.block in outcomes:
        verdict = Verdict.blocked
    else:
        verdict = Verdict.ready
    anomalies = (_blocked_anomaly(order, decisions, rules),) if verdict is Verdict.blocked else ()
    return Evaluation(
        work_order_id=order.id, work_order_version=order.version, verdict=verdict,
        decisions=tuple(decisions), anomalies=anomalies, skipped=tuple(skipped),
    )


def run_check(item: Rule, order: WorkOrder, settings: RuleSettings) -> Check:
    """A rule that crashes blocks the order with the error as its reason: a bug must not bill, nor stop the run."""
    try:
        found = item.check(order, settings)
    except Exception as exc:  # noqa: BLE001 - the point: any failure of a rule is a decision, not a crash
        error = type(exc).__name__
        return blocked(f"rule {item.id} failed: {error}: {exc}", error=error, message=str(exc))
    well_formed = isinstance(found, Check) and isinstance(found.outcome, Outcome) and isinstance(found.reason, str)
    if not well_formed or not isinstance(found.evidence, Mapping):
        return blocked(f"rule {item.id} returned a malformed result: {found!r:.200}", returned=repr(found)[:200])
    try:  # evidence is stored and shown as JSON: anything else (a Decimal, a date) becomes its text now
        evidence = json.loads(json.dumps(dict(found.evidence), default=str))
    except (TypeError, ValueError) as exc:
        return blocked(f"rule {item.id} gave evidence that is not JSON: {exc}", returned=repr(found)[:200])
    return Check(found.outcome, found.reason, evidence)


def _blocked_anomaly(order: WorkOrder, decisions: list[RuleDecision], rules: Sequence[Rule]) -> Anomaly:
    blocking = [d for d in decisions if d.outcome is Outcome.block]
    actions_by_rule = {r.id: r.actions for r in rules}
    actions = tuple(dict.fromkeys(a for d in blocking for a in actions_by_rule.get(d.rule_id, ())))
    reasons = "; ".join(f"{d.rule_id}: {d.reason}" for d in blocking)
    return Anomaly(
        code=AnomalyCode.rule_blocked,
        subject=f"{order.id}@v{order.version}",
        company=order.company,
        summary=f"Job {order.job_number} ({order.customer.name}) is blocked by {reasons}",
        evidence={"decisions": [d.model_dump(mode="json") for d in blocking]},
        work_order_id=order.id,
        work_order_version=order.version,
        suggested_actions=actions,
    )
