"""Push only the chosen drafts (a replay's), with the same exactly-once steps as the pipeline's push."""

from __future__ import annotations

from collections.abc import Sequence

from closeout.config import CompanyConfig
from closeout.steps.counts import StepCounts
from closeout.steps.push import PushOutcome, _Pusher, _save
from closeout.wiring import App
from connectors.errors import FatalError, RetriableError
from storage.sql_push_claims import claim_keys
from workorders.push import PushStatus


def push_keys(app: App, company: CompanyConfig, keys: Sequence[str]) -> StepCounts:
    """Claim these records (only if ready or uncertain) and push them; other companies' and jobs' stay put.

    A retriable or fatal error leaves the record ``uncertain`` (it may have landed) or ``ready`` and is
    re-raised, as in ``push_batch``: the caller tells the person, and the next try looks before sending.
    """
    counts = StepCounts()
    with app.store.unit_of_work() as uow:
        records = claim_keys(uow.session, keys, clock=uow.clock)
        uow.commit()
    pusher = _Pusher(app, company)
    for index, record in enumerate(records):
        try:
            outcome = pusher.push(record)
        except (RetriableError, FatalError) as exc:
            state = PushStatus.uncertain if pusher.sent else PushStatus.ready
            _save(app, record, PushOutcome(status=state, error=str(exc)), counts)
            for rest in records[index + 1:]:
                _save(app, rest, PushOutcome(status=PushStatus.ready, error="released: replay stopped"), counts)
            raise
        _save(app, record, outcome, counts)
    return counts
