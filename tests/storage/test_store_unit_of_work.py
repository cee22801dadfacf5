from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from storage import SqlStore, open_store
from storage.column_types import Money, UtcDateTime
from workorders.push import PushStatus

probes = sa.Table(
    "column_type_probes",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime()),
    sa.Column("amount", Money()),
)


def test_nothing_is_visible_to_another_unit_of_work_before_commit(store, make_order):
    with store.unit_of_work() as writer, store.unit_of_work() as reader:
        writer.work_orders.save(make_order())
        writer.cursors.set("jobber:jobs", "page-2")
        assert reader.work_orders.get("jobber:J-100") is None
        assert reader.cursors.get("jobber:jobs") is None
        writer.commit()
        assert reader.work_orders.get("jobber:J-100").version == 1
        assert reader.cursors.get("jobber:jobs") == "page-2"


def test_rollback_discards_the_work_since_the_last_commit(store, make_order):
    with store.unit_of_work() as uow:
        uow.work_orders.save(make_order("J-1"))
        uow.commit()
        uow.work_orders.save(make_order("J-2"))
        uow.rollback()
        assert [order.external_id for order in uow.work_orders.latest()] == ["J-1"]


def test_leaving_a_unit_of_work_rolls_back_what_was_not_committed(store, make_order):
    with store.unit_of_work() as uow:
        uow.work_orders.save(make_order())
    with store.unit_of_work() as uow:
        assert uow.work_orders.get("jobber:J-100") is None


def test_an_error_inside_a_unit_of_work_leaves_nothing_behind(store, make_order):
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.work_orders.save(make_order())
        raise RuntimeError("mapping blew up")
    assert list(store.work_orders.latest()) == []


def test_a_unit_of_work_can_commit_page_after_page(store, make_order):
    with store.unit_of_work() as uow:
        for page in range(3):
            uow.work_orders.save(make_order(f"J-{page}"))
            uow.cursors.set("jobber:jobs", f"page-{page}")
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.cursors.get("jobber:jobs") == "page-2"
        assert len(list(uow.work_orders.latest())) == 3


def test_a_unit_of_work_has_every_repository_of_the_port(store):
    with store.unit_of_work() as uow:
        for name in ("raw", "work_orders", "decisions", "push_records", "cursors", "cases"):
            assert getattr(uow, name) is not None


def test_the_store_answers_one_off_calls_each_in_its_own_committed_unit_of_work(store, make_order, make_draft):
    saved = store.work_orders.save(make_order())
    store.push_records.add_ready(make_draft(saved.order))
    assert [o.version for o in store.work_orders.latest()] == [1]
    assert [r.status for r in store.push_records.all(status=PushStatus.ready)] == [PushStatus.ready]
    assert store.cases.count_by_status()["open"] == 0
    with pytest.raises(AttributeError, match="no method 'nonsense'"):
        store.raw.nonsense()


def test_a_store_is_a_context_manager_that_closes_its_engine(store_url):
    with open_store(store_url) as opened:
        assert isinstance(opened, SqlStore)
        assert opened.raw.count_jobs() == 0
    assert opened.engine.pool.checkedout() == 0


def test_datetimes_read_back_aware_in_utc_whatever_zone_they_were_written_in(store):
    tokyo = timezone(timedelta(hours=9))
    with store.engine.begin() as connection:
        probes.create(connection)
        connection.execute(sa.insert(probes), [{"id": 1, "at": datetime(2025, 3, 1, 18, 0, tzinfo=tokyo)}])
        at = connection.execute(sa.select(probes.c.at)).scalar_one()
    assert at == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert at.tzinfo is UTC


def test_a_naive_datetime_is_refused(store):
    with store.engine.begin() as connection:
        probes.create(connection)
        with pytest.raises(sa.exc.StatementError, match="aware datetimes only"):
            connection.execute(sa.insert(probes), [{"id": 1, "at": datetime(2025, 3, 1, 9, 0)}])


@pytest.mark.parametrize("amount", ["0.00", "0.10", "-12.35", "9999999999.99", "-999999999999.99", "123456789012.34"])
def test_money_reads_back_as_the_exact_decimal(store, amount):
    with store.engine.begin() as connection:
        probes.create(connection)
        connection.execute(sa.insert(probes), [{"id": 1, "amount": Decimal(amount)}])
        stored = connection.execute(sa.select(probes.c.amount)).scalar_one()
    assert isinstance(stored, Decimal)
    assert str(stored) == amount


@pytest.mark.parametrize("amount", [0.1, Decimal("0.001"), Decimal("1000000000000.00"), "12.00"])
def test_money_that_is_a_float_or_does_not_fit_numeric_14_2_is_refused(store, amount):
    with store.engine.begin() as connection:
        probes.create(connection)
        with pytest.raises(sa.exc.StatementError):
            connection.execute(sa.insert(probes), [{"id": 1, "amount": amount}])


def test_a_case_and_its_history_outlive_the_unit_of_work_that_wrote_them(store):
    from exceptions_queue.service import CaseQueue
    from workorders.anomalies import Anomaly, AnomalyCode

    with store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases)
        case, _ = queue.open_case(Anomaly(code=AnomalyCode.ledger_rejected, subject="co-1", summary="rejected"))
        queue.assign(case.id, actor="lead", assignee="dana")
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.cases.get(case.id)
    assert [entry.action for entry in stored.history] == ["opened", "assigned"]
    assert stored.history[0].at.tzinfo is UTC
