"""What a rule is: an id, a version, a reason to exist, the job types it covers, and a pure check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from workorders.decisions import Outcome
from workorders.money import Money
from workorders.work_order import JobType, WorkOrder

DEFAULT_ACTIONS = ("approve_override", "fix_at_source")


class RuleSettings(BaseModel):
    """One company's rule settings. Add a field here (with a default) when a rule needs a new knob."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    require_sign_off: bool = True
    approval_threshold: Money = Decimal("5000")
    disabled: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Check:
    """What a rule found; the engine adds who (rule, version), about what (work order, version) and when (run)."""

    outcome: Outcome
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


def passed(reason: str, **evidence: Any) -> Check:
    return Check(Outcome.passed, reason, evidence)


def blocked(reason: str, **evidence: Any) -> Check:
    return Check(Outcome.block, reason, evidence)


def no_invoice(reason: str, **evidence: Any) -> Check:
    return Check(Outcome.no_invoice, reason, evidence)


CheckFn = Callable[[WorkOrder, RuleSettings], Check]


@dataclass(frozen=True)
class Rule:
    """A named, versioned check. Bump ``version`` whenever what ``check`` decides changes."""

    id: str
    version: int
    why: str
    check: CheckFn
    job_types: frozenset[JobType] = frozenset()
    actions: tuple[str, ...] = DEFAULT_ACTIONS

    def applies_to(self, order: WorkOrder) -> bool:
        return not self.job_types or order.job_type in self.job_types


def rule(
    rule_id: str, *, version: int = 1, job_types: tuple[JobType, ...] = (), actions: tuple[str, ...] = DEFAULT_ACTIONS
) -> Callable[[CheckFn], Rule]:
    """Make a check function a ``Rule``; its docstring's first line is the rule's ``why``."""

    def wrap(check: CheckFn) -> Rule:
        lines = (check.__doc__ or "").strip().splitlines()
        why = lines[0] if lines else ""
        if not why:
            raise TypeError(f"rule {rule_id} needs a docstring saying why it exists")
        return Rule(id=rule_id, version=version, why=why, check=check, job_types=frozenset(job_types), actions=actions)

    return wrap
