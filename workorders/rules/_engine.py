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
    plan = _plan(rules, settings)
    by_id, skipped = plan.by_id, list(plan.skipped)
    current = order
    order_id, order_version = order.id, order.version
    # A decision of exact types is made without pydantic's validation (19 a version): the engine made every field
    fast = type(run_id) is str and (decided_at is None or type(decided_at) is datetime)
    for item, job_types in plan.enabled:
        if job_types and current.job_type not in job_types:
            continue
        found = run_check(item, current, settings, context)
        if found.outcome is Outcome.transform and found.result is not None:
            current = found.result
        fields = {"rule_id": item.id, "rule_version": item.version, "work_order_id": order_id,
                  "work_order_version": order_version, "outcome": found.outcome, "reason": found.reason,
                  "evidence": dict(found.evidence), "run_id": run_id, "decided_at": decided_at}
        if fast and type(found.reason) is str and type(item.id) is str and type(item.version) is int:
            decisions.append(_constructed(fields))
        else:
            decisions.append(RuleDecision(**fields))
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


_DECISION_FIELDS = ("rule_id", "rule_version", "work_order_id", "work_order_version", "outcome", "reason", "evidence",
                    "run_id", "decided_at")
_PLAIN_DECISION = (tuple(RuleDecision.model_fields) == _DECISION_FIELDS and not RuleDecision.__private_attributes__
                   and not RuleDecision.__pydantic_post_init__ and RuleDecision.model_config.get("extra") != "allow"
                   and all(f.alias is None and f.validation_alias is None for f in RuleDecision.model_fields.values()))


def _constructed(fields: dict) -> RuleDecision:
    """``RuleDecision.model_construct(**fields)`` for every field given in field order, as it sets an instance up,
    without its per-field alias and default lookups (a model with none: checked once, at import, else it is used)."""
    if not _PLAIN_DECISION:
        return RuleDecision.model_construct(**fields)
    decision = RuleDecision.__new__(RuleDecision)
    object.__setattr__(decision, "__dict__", fields)
    object.__setattr__(decision, "__pydantic_fields_set__", set(_DECISION_FIELDS))
    object.__setattr__(decision, "__pydantic_extra__", None)
    object.__setattr__(decision, "__pydantic_private__", None)
    return decision


class _Plan:
    """Which rules run for a company's settings, worked out once per (rules, settings) instead of per version."""

    __slots__ = ("rules", "settings", "enabled", "skipped", "by_id")

    def __init__(self, rules: Sequence[Rule], settings: RuleSettings) -> None:
        self.rules, self.settings = rules, settings
        self.by_id = {r.id: r for r in rules}
        self.skipped = tuple(r.id for r in rules if not r.enabled_for(settings))
        # the job types as ``Rule.applies_to`` reads them: the company's for the rule if set, else the rule's own
        self.enabled = tuple((r, _job_types(r, settings)) for r in rules if r.enabled_for(settings))


def _job_types(item: Rule, settings: RuleSettings) -> frozenset:
    configured = settings.section(item.id).job_types
    return frozenset(configured) if configured is not None else item.job_types


_PLANS: dict[tuple[int, int], _Plan] = {}


def _plan(rules: Sequence[Rule], settings: RuleSettings) -> _Plan:
    """The cached plan when ``rules`` is a tuple (it cannot change) and ``settings`` the very same object."""
    if type(rules) is not tuple:
        return _Plan(rules, settings)
    key = (id(rules), id(settings))
    found = _PLANS.get(key)
    if found is None or found.rules is not rules or found.settings is not settings:
        if len(_PLANS) >= 64:
            _PLANS.clear()
        found = _PLANS[key] = _Plan(rules, settings)
    return found


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
