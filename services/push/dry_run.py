"""A company in a dry run (``push = false`` in its ledger's config): everything but the ledger writes.

Pull, rules, drafts and cases run as usual; the push step sends nothing and counts what it would have sent,
per invoice, so the run summary and ``closeout preview`` show it. The drafts stay ready: setting ``push = true``
sends them on the next run (after a ``closeout cutover`` has withdrawn the ones billed elsewhere).
"""

from __future__ import annotations

from services.config import CompanyConfig
from services.counts import StepCounts
from services.runtime import Runtime
from workorders.push import PushStatus


def hold_back(app: Runtime, company: CompanyConfig) -> StepCounts:
    """The company's ready drafts, counted as held back; nothing is claimed, nothing reaches the ledger."""
    counts = StepCounts()
    with app.store.unit_of_work() as uow:
        ready = [r for r in uow.push_records.all(status=PushStatus.ready) if r.company == company.id]
    for record in sorted(ready, key=lambda r: r.doc_number):
        counts.held_back.append({"company": company.id, "job": record.draft.doc_number,
                                 "work_order": record.work_order_id, "version": record.work_order_version,
                                 "amount": str(record.amount), "currency": record.draft.currency})
    return counts
