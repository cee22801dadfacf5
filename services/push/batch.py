"""Push: send claimed drafts to the company's ledger exactly once, looking before any resend."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from services.config import CompanyConfig
from services.counts import StepCounts
from services.push.dry_run import hold_back
from services.push.evidence import push_evidence
from services.push.together import BATCH_SIZES, push_together
from services.push.pusher import (
    DUPLICATE_CODES, Pusher, PushOutcome, give_up, invoice_payload, save_outcome,
)
from services.runtime import Runtime
from connectors.errors import FatalError, RetriableError
from workorders.push import STALE_AFTER, PushRecord, PushStatus

__all__ = ["DUPLICATE_CODES", "PushOutcome", "Pusher", "invoice_payload", "push_batch", "push_claimed"]


def push_batch(app: Runtime, company: CompanyConfig, *, limit: int | None = None,
               stale_after: timedelta = STALE_AFTER, sleep: Callable[[float], None] = time.sleep) -> StepCounts:
    """Claim up to ``limit`` drafts of one company (by default one ledger request's worth: 30 for QuickBooks, 50
    for Xero) and push them; a retriable failure re-raises after saving state.

    First, records a dead worker left in ``pushing`` for over ``stale_after`` become ``uncertain``, so they
    are claimed again and looked up in the ledger before anything is resent. A throttled call (429) waits
    the ledger's Retry-After with ``sleep`` and is sent again (see ThrottledLedger).
    """
    if not company.ledger.push:
        return hold_back(app, company)
    counts = StepCounts()
    with app.store.unit_of_work() as uow:
        uow.push_records.release_stale(stale_after, ledger=company.ledger.kind)
        records = uow.push_records.claim(ledger=company.ledger.kind, company=company.id,
                                         limit=BATCH_SIZES.get(company.ledger.kind, 30) if limit is None else limit)
        uow.commit()
    pusher = Pusher(app, company, sleep=sleep, customers=app.customer_refs.setdefault(company.id, {}))
    if len(records) > 1 and pusher.ledger.max_batch > 1:
        push_together(app, pusher, records, counts)
    else:
        push_claimed(app, pusher, records, counts)
    push_evidence(app, company, pusher.ledger, counts)  # sign-offs, photos and e-mail of pushed invoices
    return counts


def push_claimed(app: Runtime, pusher: Pusher, records: list[PushRecord], counts: StepCounts,
                 *, stopped: str = "released: batch stopped") -> None:
    """Push claimed records one by one, saving each outcome as it comes.

    A retriable or fatal error saves the record ``uncertain`` when it may have landed (else ``ready``),
    releases the rest as ``ready`` with the note ``stopped``, and re-raises for the caller or Prefect.
    Every record that may already be in the ledger is looked up in one call first, as ``push_together`` does.
    """
    try:
        pusher.look_up_ahead(records)
    except (RetriableError, FatalError) as exc:
        give_up(app, [], records, str(exc), counts, released=stopped)
        raise
    for index, record in enumerate(records):
        try:
            outcome = pusher.push(record)
        except (RetriableError, FatalError) as exc:
            state = PushStatus.uncertain if pusher.sent else PushStatus.ready
            save_outcome(app, record, PushOutcome(status=state, error=str(exc)), counts)
            give_up(app, [], records[index + 1:], str(exc), counts, released=stopped)
            raise
        save_outcome(app, record, outcome, counts)
