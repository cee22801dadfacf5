"""Prepare: run the rules on each new work order version, log every decision, and queue a draft or a case."""

from __future__ import annotations

from collections.abc import Callable

from services.collector import collector_paused
from services.config import CompanyConfig
from services.line_prices import apply_line_prices
from services.mapping_overrides import effective_tables
from services.cases_in_bulk import open_in_bulk
from services.counts import StepCounts
from services.cutover_context import cutover_for
from services.runtime import Runtime, UnitOfWork
from exceptions_queue.cases import CaseStatus
from exceptions_queue.service import CaseQueue
from mappings.company_tables import MappingTables
from mappings.drafts import build_draft
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.correction_steps import invoiced_now
from workorders.drafts import InvoiceDraft
from workorders.ports import MappingOverrideReader
from workorders.push import PushStatus
from workorders.rules import Evaluation, InvoicedVersion, RuleContext, evaluate
from workorders.work_order import WorkOrder

# Kinds a newer version of the same work order can clear by itself.
_CLEARABLE = (AnomalyCode.rule_blocked, AnomalyCode.missing_mapping)
_INVOICED = (PushStatus.pushed, PushStatus.pushing, PushStatus.uncertain, PushStatus.ready)


PREPARE_BATCH = 2000
"""Versions evaluated per transaction. The store is read once per batch (look-alikes, invoices, cases), so a
larger batch costs fewer scans; memory grows with it, not with the backlog."""
_FLUSH_DECISIONS = 5000


def prepare_batch(app: Runtime, *, run_id: str, limit: int = PREPARE_BATCH) -> StepCounts:
    """Evaluate up to ``limit`` work order versions that have no decisions yet, in one transaction."""
    with collector_paused():  # the batch's objects are not rescanned meanwhile, and are gone when it ends
        return _prepare_batch(app, run_id=run_id, limit=limit)


def _prepare_batch(app: Runtime, *, run_id: str, limit: int) -> StepCounts:
    counts = StepCounts()
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases)
        orders = uow.work_orders.pending_evaluation(limit=limit)
        # an older version's draft that never reached the ledger is withdrawn, not pushed and then corrected
        counts.drafts_superseded += len(uow.push_records.supersede_unsent([(o.id, o.version) for o in orders]))
        batch = _BatchContext(uow, orders)
        new_cases: list[Anomaly] = []  # opened when the loop ends, in bulk: the loop reads no case it opens
        decisions: list = []
        drafts: list[InvoiceDraft] = []
        for order in orders:
            counts.evaluated += 1
            company = app.config.company(order.company)
            evaluation = batch.judge(company, order, run_id=run_id)
            decisions.extend(evaluation.decisions)
            counts.rule_outcomes.update((d.rule_id, str(d.outcome)) for d in evaluation.decisions)
            if len(decisions) >= _FLUSH_DECISIONS:
                uow.decisions.add(decisions)
                decisions = []
            verdict = str(evaluation.verdict)
            if verdict == "blocked":
                counts.blocked += 1
                new_cases.extend(evaluation.anomalies)
                continue
            if order.id in batch.with_clearable_cases:
                counts.cases_resolved += _clear_older_cases(queue, uow, order)
            if verdict == "no_invoice":
                counts.no_invoice += 1
                continue
            counts.ready += 1
            draft = build_draft(evaluation.order, tables=batch.tables(company), ledger=company.ledger.kind)
            if isinstance(draft, Anomaly):
                new_cases.append(draft)
                continue
            drafts.append(draft)
            counts.drafts += 1
        for anomaly, opened in zip(new_cases, open_in_bulk(uow.cases, new_cases), strict=True):
            counts.cases_opened[anomaly.code.value] += opened
        uow.decisions.add(decisions)
        uow.push_records.add_ready_many(drafts)
        uow.commit()
    return counts


class _BatchContext:
    """What the rules of a whole batch need from the store, read once: the company's overrides and mapping
    tables, every order's push records and look-alikes, and which orders have cases a new version may clear.

    Nothing prepare writes changes these during the batch (it adds decisions, drafts and cases only).
    """

    def __init__(self, uow: UnitOfWork, orders: list[WorkOrder]) -> None:
        self.mapping_overrides = _CachedOverrides(uow.mapping_overrides)
        ids = [order.id for order in orders]
        self._records = uow.push_records.for_work_orders(ids)
        self._corrections = uow.corrections.for_work_orders(ids)
        self._duplicates = uow.work_orders.possible_duplicates_many(orders)
        self.with_clearable_cases = uow.cases.work_orders_with_cases(
            ids, kinds=_CLEARABLE, statuses=(CaseStatus.open, CaseStatus.in_progress))
        self._tables: dict[str, MappingTables] = {}
        self._cutovers, self._cutover_store = {}, uow.cutovers

    def judge(self, company: CompanyConfig, order: WorkOrder, *, run_id: str) -> Evaluation:
        """``judge`` with the batch's reads: the same decisions, without a query per order."""
        order = apply_line_prices(self, order)
        invoiced = _invoiced(self._records.get(order.id, ()), order, self._corrections.get(order.id, ()))
        if company.id not in self._cutovers:
            self._cutovers[company.id] = cutover_for(self._cutover_store, company)
        context = RuleContext(ledger_currency=booking_currency(company), invoiced=invoiced,
                              possible_duplicates=tuple(self._duplicates.get(order.id, ())),
                              cutover=self._cutovers[company.id])
        return _evaluate(company, order, context, run_id=run_id, tables=lambda: self.tables(company))

    def tables(self, company: CompanyConfig) -> MappingTables:
        if company.id not in self._tables:
            self._tables[company.id] = effective_tables(self, company)
        return self._tables[company.id]


class _CachedOverrides:
    """``uow.mapping_overrides`` whose ``for_company`` is read once per batch."""

    def __init__(self, overrides: MappingOverrideReader) -> None:
        self._overrides = overrides
        self._cache: dict[str, dict[str, dict[str, str]]] = {}

    def for_company(self, company: str) -> dict[str, dict[str, str]]:
        if company not in self._cache:
            self._cache[company] = self._overrides.for_company(company)
        return self._cache[company]


def _invoiced(records, order: WorkOrder, corrections=()) -> tuple[InvoicedVersion, ...]:
    """The order's invoices in each ledger, each at the version its done corrections brought it to.

    The order's own version is left out unless a correction brought an invoice to it: a pushed version is
    re-judged on a replay and must not count as invoiced before; a corrected one must not be invoiced again.
    """
    found = []
    for r in records:
        if r.status not in _INVOICED:
            continue
        now = invoiced_now(r.work_order_version, r.draft, corrections)
        if now.version == order.version and not now.corrected:
            continue
        found.append(InvoicedVersion(version=now.version, ledger=r.ledger, doc_number=r.doc_number,
                                     status=r.status.value, amount=now.amount, ledger_id=r.ledger_id,
                                     draft=now.draft, payment_state=r.payment_state,
                                     ledger_balance=r.ledger_balance, corrected=now.corrected,
                                     cancelled=now.draft is None))
    return tuple(found)


def booking_currency(company: CompanyConfig) -> str | None:
    """The one currency the company's ledger books in, or None when it has multi-currency on (any goes)."""
    return None if company.ledger.multicurrency else company.currency


def rule_context(uow: UnitOfWork, company: CompanyConfig, order: WorkOrder, *, unstored: tuple[WorkOrder, ...] = ()) -> RuleContext:
    """What the rules may know beyond the order: the ledger's currency, earlier invoices, look-alike jobs.

    ``unstored`` are jobs read but not stored (a preview) that may be look-alikes too.
    """
    invoiced = _invoiced(uow.push_records.for_work_order(order.id), order, uow.corrections.for_work_order(order.id))
    return RuleContext(ledger_currency=booking_currency(company), invoiced=invoiced,
                       cutover=cutover_for(uow.cutovers, company),
                       possible_duplicates=tuple(uow.work_orders.possible_duplicates(order)) + tuple(
                           other for other in unstored if other.id != order.id))


def judge(uow: UnitOfWork, company: CompanyConfig, order: WorkOrder, *, run_id: str,
          unstored: tuple[WorkOrder, ...] = ()) -> Evaluation:
    """The company's rules on one version (with any line price a coordinator fixed), with its context. Stores nothing."""
    order = apply_line_prices(uow, order)
    context = rule_context(uow, company, order, unstored=unstored)
    return _evaluate(company, order, context, run_id=run_id, tables=lambda: effective_tables(uow, company))


def _evaluate(company: CompanyConfig, order: WorkOrder, context: RuleContext, *, run_id: str,
              tables: Callable[[], MappingTables]) -> Evaluation:
    """The rules on one version; when another version was invoiced, a second pass that also knows what this
    version's invoice would say, so ``not_invoiced_before`` tells a touched job from a billable change.

    The draft comes from the first pass's order (every transform applied), which the second pass reproduces:
    only ``not_invoiced_before`` reads the draft, and it transforms nothing. A draft that cannot be built
    (a missing mapping) leaves the first pass standing: the rule then counts the version as a change.
    """
    evaluation = evaluate(order, company.rules, run_id=run_id, context=context)
    if not context.invoiced:
        return evaluation
    draft = build_draft(evaluation.order, tables=tables(), ledger=company.ledger.kind)
    if isinstance(draft, Anomaly):
        return evaluation
    return evaluate(order, company.rules, run_id=run_id, context=context.model_copy(update={"draft": draft}))


def draft_for(uow: UnitOfWork, company: CompanyConfig, evaluation: Evaluation) -> InvoiceDraft | Anomaly:
    """The draft of a ready evaluation, built from the order as the rules left it, through today's mappings."""
    return build_draft(evaluation.order, tables=effective_tables(uow, company), ledger=company.ledger.kind)


def _clear_older_cases(queue: CaseQueue, uow: UnitOfWork, order: WorkOrder) -> int:
    cleared = 0
    for case in uow.cases.list(work_order_id=order.id, kinds=_CLEARABLE, statuses=(CaseStatus.open, CaseStatus.in_progress)):
        if case.work_order_version is not None and case.work_order_version < order.version:
            queue.close_if_cleared(case, note=f"version {order.version} of the job no longer trips this")
            cleared += 1
    return cleared
