"""Push only the chosen drafts (a replay's), with the same exactly-once steps as the pipeline's push."""

from __future__ import annotations

from collections.abc import Sequence

from services.config import CompanyConfig
from services.counts import StepCounts
from services.push.batch import Pusher, push_claimed
from services.runtime import Runtime


def push_keys(app: Runtime, company: CompanyConfig, keys: Sequence[str]) -> StepCounts:
    """Claim these records (only if ready or uncertain) and push them; other companies' and jobs' stay put.

    A retriable or fatal error leaves the record ``uncertain`` (it may have landed) or ``ready`` and is
    re-raised, as in ``push_batch``: the caller tells the person, and the next try looks before sending.
    """
    counts = StepCounts()
    with app.store.unit_of_work() as uow:
        records = uow.push_records.claim_keys(keys)
        uow.commit()
    push_claimed(app, Pusher(app, company), records, counts, stopped="released: replay stopped")
    return counts
