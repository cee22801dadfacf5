"""A worker that held a record past ``stale_after`` while another pushed it: its late failure leaves the record pushed.

Found by the fault campaign (make reliability): two workers, one slowed by ledger timeouts; the other took the
record over and pushed it; the first then failed and tried to save it ``uncertain``, which raised ValueError
and stopped its whole batch.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from services.counts import StepCounts
from services.push.batch import Pusher, push_batch, push_claimed
from connectors.errors import RetriableError
from workorders.push import PushStatus


def test_a_late_failure_of_a_record_another_worker_pushed_meanwhile_keeps_it_pushed(prepared_app):
    app, company = prepared_app
    with app.store.unit_of_work() as uow:  # worker A claims one record, then stalls
        held = uow.push_records.claim(ledger=company.ledger.kind, company=company.id, limit=1)[0]
        uow.commit()
    push_batch(app, company, limit=100, stale_after=timedelta(0))  # worker B takes it over and pushes it
    httpx.post(f"{app.sandbox_url}/_sandbox/qbo/{company.ledger.realm_id}/faults",
               json={"kind": "server_error", "count": 5}).raise_for_status()

    with pytest.raises(RetriableError):  # worker A wakes up to a 500
        push_claimed(app, Pusher(app, company, sleep=lambda seconds: None), [held], StepCounts())

    with app.store.unit_of_work() as uow:
        after = uow.push_records.get(held.idempotency_key)
    assert after.status is PushStatus.pushed and after.ledger_id
