from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from storage import open_store

RECORDS = 200


@pytest.fixture
def ready_records(store, make_order, make_draft):
    with store.unit_of_work() as uow:
        for number in range(RECORDS):
            order = uow.work_orders.save(make_order(f"J-{number:03d}")).order
            uow.push_records.add_ready(make_draft(order))
        uow.commit()
    return {record.idempotency_key for record in store.push_records.all()}


def test_two_workers_claiming_at_once_claim_every_record_exactly_once(store, ready_records):
    claimed_by: dict[str, list[str]] = {"a": [], "b": []}
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        try:
            start.wait()
            while True:
                with store.unit_of_work() as uow:
                    batch = uow.push_records.claim(ledger="qbo", limit=7)
                    time.sleep(0.002)  # hold the row locks while the other worker claims
                    uow.commit()
                if not batch:
                    return
                claimed_by[name].extend(record.idempotency_key for record in batch)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in claimed_by]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    claims = Counter(claimed_by["a"] + claimed_by["b"])
    assert set(claims) == ready_records
    assert max(claims.values()) == 1
    if store.engine.dialect.name == "postgresql":  # SQLite runs one writer at a time and may starve the other
        assert claimed_by["a"] and claimed_by["b"], "both workers should have claimed some records"
    assert {record.attempts for record in store.push_records.all()} == {1}


@pytest.fixture
def postgres_store(empty_database, clock):
    opened = open_store(empty_database("postgresql"), clock=clock)
    try:
        yield opened
    finally:
        opened.close()


@pytest.mark.postgres
def test_on_postgresql_a_claim_skips_rows_another_worker_holds_instead_of_waiting(
    postgres_store, make_order, make_draft
):
    with postgres_store.unit_of_work() as uow:
        for number in range(4):
            uow.push_records.add_ready(make_draft(uow.work_orders.save(make_order(f"J-{number}")).order))
        uow.commit()
    with postgres_store.unit_of_work() as first, postgres_store.unit_of_work() as second:
        held = first.push_records.claim(ledger="qbo", limit=2)
        second._session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
        taken = second.push_records.claim(ledger="qbo", limit=10)
        first.commit()
        second.commit()
    assert [r.work_order_id for r in held] == ["jobber:J-0", "jobber:J-1"]
    assert [r.work_order_id for r in taken] == ["jobber:J-2", "jobber:J-3"]
