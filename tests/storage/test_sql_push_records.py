from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from workorders.push import PushStatus
from workorders.work_order import WorkOrderStatus


@pytest.fixture
def stored(store, make_order):
    """Three stored orders: J-1 and J-2 of acme, J-3 of globex."""
    with store.unit_of_work() as uow:
        orders = [
            uow.work_orders.save(make_order("J-1")).order,
            uow.work_orders.save(make_order("J-2")).order,
            uow.work_orders.save(make_order("J-3", company="globex")).order,
        ]
        uow.commit()
    return orders


def add_ready(store, drafts):
    with store.unit_of_work() as uow:
        records = [uow.push_records.add_ready(draft) for draft in drafts]
        uow.commit()
    return records


def claim(store, **options):
    with store.unit_of_work() as uow:
        claimed = uow.push_records.claim(**options)
        uow.commit()
    return claimed


def test_a_draft_is_recorded_ready_with_its_exact_amount(store, stored, make_draft):
    draft = make_draft(stored[0], unit_price="4999999999.99")
    (record,) = add_ready(store, [draft])
    assert record.status is PushStatus.ready
    assert record.amount == Decimal("9999999999.98")
    assert isinstance(record.amount, Decimal)
    assert (record.idempotency_key, record.doc_number, record.attempts) == (draft.idempotency_key, "J-1", 0)
    assert record.draft == draft
    assert record.updated_at.tzinfo is not None


def test_adding_the_same_draft_again_returns_the_first_record(store, stored, make_draft, clock):
    first, = add_ready(store, [make_draft(stored[0])])
    clock.advance(minutes=5)
    again, = add_ready(store, [make_draft(stored[0], unit_price="1.00")])
    assert again == first
    assert len(store.push_records.all()) == 1


def test_a_claim_moves_ready_records_to_pushing_and_counts_the_attempt(store, stored, make_draft):
    add_ready(store, [make_draft(order) for order in stored[:2]])
    claimed = claim(store, ledger="qbo")
    assert [(r.work_order_id, r.status, r.attempts) for r in claimed] == [
        ("jobber:J-1", PushStatus.pushing, 1),
        ("jobber:J-2", PushStatus.pushing, 1),
    ]
    assert [r.status for r in store.push_records.all()] == [PushStatus.pushing, PushStatus.pushing]


def test_a_claimed_record_is_not_claimed_again(store, stored, make_draft):
    add_ready(store, [make_draft(stored[0])])
    assert len(claim(store, ledger="qbo")) == 1
    assert claim(store, ledger="qbo") == []


def test_a_claim_takes_at_most_its_limit_oldest_first(store, stored, make_draft):
    add_ready(store, [make_draft(order) for order in stored])
    assert [r.work_order_id for r in claim(store, ledger="qbo", limit=2)] == ["jobber:J-1", "jobber:J-2"]
    assert claim(store, ledger="qbo", limit=0) == []


def test_a_claim_keeps_to_its_ledger_and_company(store, stored, make_draft):
    add_ready(store, [make_draft(stored[0], ledger="xero"), make_draft(stored[1]), make_draft(stored[2])])
    assert [r.work_order_id for r in claim(store, ledger="qbo", company="globex")] == ["jobber:J-3"]
    assert [r.ledger for r in claim(store, ledger="xero")] == ["xero"]
    assert [r.work_order_id for r in claim(store, ledger="qbo")] == ["jobber:J-2"]


def test_an_uncertain_record_is_claimed_again_with_its_earlier_attempt_counted(store, stored, make_draft):
    record, = add_ready(store, [make_draft(stored[0])])
    claim(store, ledger="qbo")
    with store.unit_of_work() as uow:
        uow.push_records.mark(record.idempotency_key, PushStatus.uncertain, error="read timeout")
        uow.commit()
    again, = claim(store, ledger="qbo")
    assert (again.status, again.attempts, again.last_error) == (PushStatus.pushing, 2, "read timeout")


def test_rejected_and_pushed_records_are_never_claimed(store, stored, make_draft):
    first, second = add_ready(store, [make_draft(stored[0]), make_draft(stored[1])])
    claim(store, ledger="qbo")
    with store.unit_of_work() as uow:
        uow.push_records.mark(first.idempotency_key, PushStatus.pushed, ledger_id="INV-88")
        uow.push_records.mark(second.idempotency_key, PushStatus.rejected, error="tax code unknown")
        uow.commit()
    assert claim(store, ledger="qbo") == []


def test_marking_a_record_pushed_keeps_the_ledger_id(store, stored, make_draft):
    record, = add_ready(store, [make_draft(stored[0])])
    claim(store, ledger="qbo")
    with store.unit_of_work() as uow:
        pushed = uow.push_records.mark(record.idempotency_key, PushStatus.pushed, ledger_id="INV-88")
        uow.commit()
    assert (pushed.status, pushed.ledger_id, pushed.last_error) == (PushStatus.pushed, "INV-88", "")
    assert store.push_records.get(record.idempotency_key) == pushed


def test_a_pushed_record_cannot_be_marked_anything_else(store, stored, make_draft):
    record, = add_ready(store, [make_draft(stored[0])])
    with store.unit_of_work() as uow:
        uow.push_records.mark(record.idempotency_key, PushStatus.pushed, ledger_id="INV-88")
        with pytest.raises(ValueError, match="cannot become ready"):
            uow.push_records.mark(record.idempotency_key, PushStatus.ready)


def test_marking_an_unknown_record_raises(store):
    with store.unit_of_work() as uow, pytest.raises(LookupError):
        uow.push_records.mark("co-missing", PushStatus.pushed)


def test_records_left_in_pushing_too_long_become_uncertain(store, stored, make_draft, clock):
    add_ready(store, [make_draft(stored[0])])
    claim(store, ledger="qbo")
    clock.advance(minutes=20)
    add_ready(store, [make_draft(stored[1])])
    claim(store, ledger="qbo")
    with store.unit_of_work() as uow:
        released = uow.push_records.release_stale(timedelta(minutes=15))
        uow.commit()
    statuses = {r.work_order_id: r.status for r in store.push_records.all()}
    assert released == 1
    assert statuses == {"jobber:J-1": PushStatus.uncertain, "jobber:J-2": PushStatus.pushing}
    assert "look it up" in store.push_records.get(make_draft(stored[0]).idempotency_key).last_error


def test_records_are_listed_by_status_and_by_work_order(store, stored, make_order, make_draft):
    with store.unit_of_work() as uow:
        v2 = uow.work_orders.save(make_order("J-1", scope="changed")).order
        uow.commit()
    add_ready(store, [make_draft(stored[0]), make_draft(v2), make_draft(stored[1], ledger="xero")])
    claim(store, ledger="xero")
    assert [r.ledger for r in store.push_records.all(status=PushStatus.pushing)] == ["xero"]
    assert len(store.push_records.all(status=PushStatus.ready)) == 2
    assert [r.work_order_version for r in store.push_records.for_work_order("jobber:J-1")] == [1, 2]
    assert store.push_records.get("co-missing") is None


def test_the_unsent_drafts_of_older_versions_are_withdrawn_and_held_or_newest_ones_are_left(
        store, stored, make_order, make_draft):
    claimed, unsent, other = add_ready(store, [make_draft(stored[0]), make_draft(stored[1]), make_draft(stored[2])])
    claim(store, ledger="qbo", company="acme", limit=1)  # J-1's draft, the oldest: a worker holds it
    with store.unit_of_work() as uow:
        newer = [uow.work_orders.save(make_order(job, status=WorkOrderStatus.cancelled)).order for job in ("J-1", "J-2")]
        withdrawn = uow.push_records.supersede_unsent([(order.id, order.version) for order in newer]
                                                     + [(stored[2].id, stored[2].version)])
        uow.commit()

    assert [record.idempotency_key for record in withdrawn] == [unsent.idempotency_key]
    with store.unit_of_work() as uow:
        statuses = {r.idempotency_key: r.status for r in uow.push_records.all()}
        assert uow.push_records.get(unsent.idempotency_key).last_error == (
            "superseded by version 2 before it reached the ledger")
    assert statuses == {claimed.idempotency_key: PushStatus.pushing, unsent.idempotency_key: PushStatus.superseded,
                        other.idempotency_key: PushStatus.ready}
    assert [r.idempotency_key for r in claim(store, ledger="qbo")] == [other.idempotency_key]
