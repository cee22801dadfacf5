"""What a rule is: an id, a version, a reason to exist, the job types it covers, and a pure check."""

from __future__ import annotations

import inspect
from datetime import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from workorders.anomalies import AnomalyCode
from workorders.decisions import Outcome
from workorders.drafts import InvoiceDraft
from workorders.money import Money
from workorders.rules._settings import RuleSettings
from workorders.work_order import JobType, WorkOrder

DEFAULT_ACTIONS = ("approve_override", "fix_at_source")


class InvoicedVersion(BaseModel):
    """An earlier version of the same work order that was invoiced (or is on its way to the ledger)."""

    model_config = ConfigDict(frozen=True)

    version: int
    ledger: str
    doc_number: str
    status: str
    amount: Money
    ledger_id: str | None = None
    draft: InvoiceDraft | None = None
    """What that invoice says: the draft its push record keeps, or the one a correction brought it to."""
    corrected: bool = False
    """A correction after invoicing (``workorders.correction_steps``) brought the invoice to this version."""
    cancelled: bool = False
    """A void or a credit in full left the job billed nothing in this ledger."""
    payment_state: str = ""
    """``workorders.payments.PaymentState`` as ``closeout reconcile`` last read it ("" before it read one)."""
    ledger_balance: Money | None = None


class Cutover(BaseModel):
    """What a company told Closeout about the books it kept before it: jobs it billed elsewhere, and where each
    source's history starts. Stored by ``closeout cutover`` and the sources' ``start`` (``services.cutover``).

    ``invoiced_before``: a job completed before this moment was invoiced by hand or by the source's own sync.
    ``jobs``: job ids or job numbers, per source name, invoiced elsewhere whatever their date.
    ``source_starts``: per source name, the moment its history starts; a job the source last changed before it
    is history too.
    """

    model_config = ConfigDict(frozen=True)

    invoiced_before: datetime | None = None
    jobs: frozenset[str] = frozenset()
    source_starts: dict[str, datetime] = {}
    recorded_by: str = ""
    recorded_at: datetime | None = None

    @classmethod
    def merged(cls, rows: Sequence[tuple[datetime | None, Sequence[str], str, datetime]]) -> Cutover:
        """Every ``(invoiced_before, jobs, recorded_by, recorded_at)`` a company recorded (oldest first) as one:
        the latest date recorded (a later cutover corrects an earlier one), every job ever listed, and who
        recorded the latest."""
        if not rows:
            return cls()
        dated = [row for row in rows if row[0] is not None]
        latest = rows[-1]
        return cls(invoiced_before=dated[-1][0] if dated else None,
                   jobs=frozenset(job for row in rows for job in row[1]),
                   recorded_by=latest[2], recorded_at=latest[3])


class RuleContext(BaseModel):
    """What a rule may know beyond the order itself, fetched by the caller so rules stay pure.

    ``possible_duplicates`` are other work orders of the same company the store thinks could be the same
    job (same company, completed around the same day); the rule decides. ``invoiced`` are this order's
    other versions that already went to a ledger. ``draft`` is this version's own invoice as it would be
    drafted from the order the rules leave; the caller knows it only after a first evaluation, so it gives it
    on a second one, and only when another version was invoiced (see ``not_invoiced_before``). ``cutover`` is
    what the company said about its books before Closeout (see ``invoiced_elsewhere``).
    """

    model_config = ConfigDict(frozen=True)

    ledger_currency: str | None = None
    invoiced: tuple[InvoicedVersion, ...] = ()
    possible_duplicates: tuple[WorkOrder, ...] = ()
    draft: InvoiceDraft | None = None
    cutover: Cutover = Cutover()


NO_CONTEXT = RuleContext()


@dataclass(frozen=True)
class Check:
    """What a rule found; the engine adds who (rule, version), about what (work order, version) and when (run).

    A ``transform`` carries the changed order in ``result``; later rules and the draft see that order.
    """

    outcome: Outcome
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    result: WorkOrder | None = None


def passed(reason: str, **evidence: Any) -> Check:
    return Check(Outcome.passed, reason, evidence)


def warned(reason: str, **evidence: Any) -> Check:
    return Check(Outcome.warn, reason, evidence)


def blocked(reason: str, **evidence: Any) -> Check:
    return Check(Outcome.block, reason, evidence)


def no_invoice(reason: str, **evidence: Any) -> Check:
    return Check(Outcome.no_invoice, reason, evidence)


def transformed(reason: str, result: WorkOrder, **evidence: Any) -> Check:
    """The order as it should be billed; ``evidence`` must hold what changed, before and after."""
    return Check(Outcome.transform, reason, evidence, result)


CheckFn = Callable[[WorkOrder, RuleSettings, RuleContext], Check]


@dataclass(frozen=True)
class Rule:
    """A named, versioned check. Bump ``version`` whenever what ``check`` decides changes.

    ``case_kind`` is the kind of case a block opens (most rules: ``rule_blocked``). A rule with
    ``beats_no_invoice`` blocks even a job that would otherwise need no invoice (a cancelled job that was
    already invoiced needs a person, not silence).
    """

    id: str
    version: int
    why: str
    check: CheckFn
    job_types: frozenset[JobType] = frozenset()
    actions: tuple[str, ...] = DEFAULT_ACTIONS
    case_kind: AnomalyCode = AnomalyCode.rule_blocked
    beats_no_invoice: bool = False

    def applies_to(self, order: WorkOrder, settings: RuleSettings | None = None) -> bool:
        """Whether the rule runs for this order: the company's job types for it if set, else the rule's own."""
        configured = settings.section(self.id).job_types if settings is not None else None
        job_types = frozenset(configured) if configured is not None else self.job_types
        return not job_types or order.job_type in job_types

    def enabled_for(self, settings: RuleSettings) -> bool:
        return self.id not in settings.disabled and settings.section(self.id).enabled


def rule(
    rule_id: str, *, version: int = 1, job_types: tuple[JobType, ...] = (), actions: tuple[str, ...] = DEFAULT_ACTIONS,
    case_kind: AnomalyCode = AnomalyCode.rule_blocked, beats_no_invoice: bool = False,
) -> Callable[[Callable[..., Check]], Rule]:
    """Make a check function a ``Rule``; its docstring's first line is the rule's ``why``.

    The function takes ``(order, settings, context)``; one that needs no context may take ``(order, settings)``.
    """

    def wrap(check: Callable[..., Check]) -> Rule:
        lines = (check.__doc__ or "").strip().splitlines()
        why = lines[0] if lines else ""
        if not why:
            raise TypeError(f"rule {rule_id} needs a docstring saying why it exists")
        fn: CheckFn = check
        if len(inspect.signature(check).parameters) == 2:
            def fn(order: WorkOrder, settings: RuleSettings, context: RuleContext = NO_CONTEXT) -> Check:
                return check(order, settings)
            fn.__doc__ = check.__doc__
        return Rule(id=rule_id, version=version, why=why, check=fn, job_types=frozenset(job_types), actions=actions,
                    case_kind=case_kind, beats_no_invoice=beats_no_invoice)

    return wrap
