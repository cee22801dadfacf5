from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from workorders.decisions import Outcome, RuleDecision
from workorders.work_order import LineItem, LineKind, WorkOrderStatus


def decision(order, outcome=Outcome.passed, *, rule_id="R-customer", **changes):
    fields = {
        "rule_id": rule_id,
        "rule_version": 1,
        "work_order_id": order.id,
        "work_order_version": order.version,
        "outcome": outcome,
        "reason": "customer is mapped",
    }
    return RuleDecision(**{**fields, **changes})


def test_the_first_save_stores_version_1(store, make_order):
    with store.unit_of_work() as uow:
        saved = uow.work_orders.save(make_order())
    assert saved.changed
    assert saved.order.version == 1


def test_a_second_save_with_the_same_content_makes_no_new_version(store, make_order):
    with store.unit_of_work() as uow:
        uow.work_orders.save(make_order())
        again = uow.work_orders.save(make_order(version=7))
        versions = uow.work_orders.versions("jobber:J-100")
    assert not again.changed
    assert again.order.version == 1
    assert [order.version for order in versions] == [1]


def test_a_save_with_changed_content_stores_the_next_version(store, make_order):
    with store.unit_of_work() as uow:
        uow.work_orders.save(make_order())
        changed = uow.work_orders.save(make_order(scope="Replace compressor"))
        versions = uow.work_orders.versions("jobber:J-100")
    assert changed.changed and changed.order.version == 2
    assert [(order.version, order.scope) for order in versions] == [(1, ""), (2, "Replace compressor")]


def test_a_stored_version_reads_back_equal_with_exact_money_and_aware_times(store, make_order):
    eastern = timezone(timedelta(hours=-5))
    order = make_order(
        line_items=(
            LineItem(source_id="L-1", kind=LineKind.part, description="Valve", quantity="3", unit_price="1999999.99"),
        ),
        updated_at=datetime(2025, 2, 28, 12, 0, tzinfo=eastern),
    )
    with store.unit_of_work() as uow:
        saved = uow.work_orders.save(order)
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.work_orders.get("jobber:J-100", 1)
    assert stored == saved.order
    assert stored.line_items[0].unit_price == Decimal("1999999.99")
    assert stored.updated_at == datetime(2025, 2, 28, 17, 0, tzinfo=UTC)
    assert stored.content_hash() == order.content_hash()


def test_get_without_a_version_gives_the_latest_and_an_unknown_order_gives_none(store, make_order):
    with store.unit_of_work() as uow:
        uow.work_orders.save(make_order())
        uow.work_orders.save(make_order(status=WorkOrderStatus.cancelled))
        assert uow.work_orders.get("jobber:J-100").status is WorkOrderStatus.cancelled
        assert uow.work_orders.get("jobber:J-100", 1).status is WorkOrderStatus.completed
        assert uow.work_orders.get("jobber:J-404") is None
        assert uow.work_orders.get("jobber:J-100", 3) is None
        assert uow.work_orders.versions("jobber:J-404") == []


def test_latest_gives_the_last_version_of_each_order_and_filters_by_company(store, make_order):
    with store.unit_of_work() as uow:
        uow.work_orders.save(make_order("J-1"))
        uow.work_orders.save(make_order("J-1", scope="more work"))
        uow.work_orders.save(make_order("J-2"))
        uow.work_orders.save(make_order("J-3", company="globex"))
        everything = [(order.external_id, order.version) for order in uow.work_orders.latest()]
        acme = [order.external_id for order in uow.work_orders.latest(company="acme")]
    assert everything == [("J-1", 2), ("J-2", 1), ("J-3", 1)]
    assert acme == ["J-1", "J-2"]


def test_latest_reads_every_order_across_pages(store, make_order, monkeypatch):
    monkeypatch.setattr("storage.sql_work_orders.LATEST_PAGE", 2)
    with store.unit_of_work() as uow:
        for number in range(5):
            uow.work_orders.save(make_order(f"J-{number}"))
        assert [order.external_id for order in uow.work_orders.latest()] == [f"J-{n}" for n in range(5)]


def test_pending_evaluation_lists_latest_versions_that_have_no_decision_yet(store, make_order):
    with store.unit_of_work() as uow:
        decided = uow.work_orders.save(make_order("J-1")).order
        uow.work_orders.save(make_order("J-2"))
        uow.work_orders.save(make_order("J-3"))
        uow.work_orders.save(make_order("J-3", scope="changed"))
        uow.decisions.add([decision(decided)])
        pending = [(order.external_id, order.version) for order in uow.work_orders.pending_evaluation()]
    assert pending == [("J-2", 1), ("J-3", 2)]


def test_a_decided_order_that_changes_is_pending_again_and_the_limit_holds(store, make_order):
    with store.unit_of_work() as uow:
        first = uow.work_orders.save(make_order("J-1")).order
        uow.decisions.add([decision(first)])
        assert uow.work_orders.pending_evaluation() == []
        uow.work_orders.save(make_order("J-1", scope="changed"))
        uow.work_orders.save(make_order("J-2"))
        assert [o.external_id for o in uow.work_orders.pending_evaluation(limit=1)] == ["J-1"]


def test_decisions_are_kept_with_their_evidence_and_read_back_per_version(store, make_order):
    with store.unit_of_work() as uow:
        v1 = uow.work_orders.save(make_order()).order
        v2 = uow.work_orders.save(make_order(scope="changed")).order
        uow.decisions.add(
            [
                decision(v1, Outcome.block, reason="no customer", evidence={"candidates": [], "rate": "95.50"}),
                decision(v2, Outcome.transform, rule_id="R-after-hours", evidence={"rate": Decimal("142.25")}),
                decision(v2, run_id="run-7", decided_at=datetime(2025, 3, 1, 8, 0, tzinfo=UTC)),
            ]
        )
        uow.commit()
    with store.unit_of_work() as uow:
        every = uow.decisions.for_work_order("jobber:J-100")
        second = uow.decisions.for_work_order("jobber:J-100", 2)
    assert [(d.work_order_version, d.outcome) for d in every] == [
        (1, Outcome.block),
        (2, Outcome.transform),
        (2, Outcome.passed),
    ]
    assert every[0].evidence == {"candidates": [], "rate": "95.50"}
    assert second[0].evidence == {"rate": "142.25"}
    assert second[1].run_id == "run-7"
    assert second[1].decided_at == datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    assert all(d.decided_at is not None and d.decided_at.tzinfo is not None for d in every)


def test_outcome_counts_count_every_decision_by_outcome_value(store, make_order):
    with store.unit_of_work() as uow:
        order = uow.work_orders.save(make_order()).order
        uow.decisions.add([decision(order), decision(order), decision(order, Outcome.warn)])
        uow.decisions.add([])
        counts = uow.decisions.outcome_counts()
    assert counts == {"pass": 2, "warn": 1, "block": 0, "transform": 0, "no_invoice": 0}


def test_a_decision_about_a_version_that_was_never_stored_is_refused(store, make_order):
    with store.unit_of_work() as uow, pytest.raises(sa.exc.IntegrityError):
        uow.decisions.add([decision(make_order().with_version(1))])


def test_possible_duplicates_are_the_companys_other_completed_jobs_finished_around_the_same_day(store, make_order):
    chicago = timezone(timedelta(hours=-6))
    with store.unit_of_work() as uow:
        mine = uow.work_orders.save(make_order("J-1")).order
        uow.work_orders.save(make_order("J-2", completed_at=datetime(2025, 2, 28, 20, 0, tzinfo=chicago)))
        uow.work_orders.save(make_order("J-3", completed_at=datetime(2025, 3, 9, 9, 0, tzinfo=UTC)))
        uow.work_orders.save(make_order("J-4", status=WorkOrderStatus.scheduled, completed_at=None))
        uow.work_orders.save(make_order("J-5", company="other"))
        uow.work_orders.save(make_order("J-6"))
        uow.work_orders.save(make_order("J-6", status=WorkOrderStatus.cancelled))
        found = uow.work_orders.possible_duplicates(mine)
        none_for_open = uow.work_orders.possible_duplicates(make_order("J-7", status=WorkOrderStatus.scheduled))
    assert [order.id for order in found] == ["jobber:J-2"]
    assert none_for_open == []


def test_work_orders_are_found_by_their_human_job_number(store, make_order):
    with store.unit_of_work() as uow:
        uow.work_orders.save(make_order("J-1", job_number="1001"))
        uow.work_orders.save(make_order("J-1", job_number="1001", scope="changed"))
        uow.work_orders.save(make_order("J-2", job_number="1001", company="other"))
        uow.work_orders.save(make_order("J-3", job_number="1002"))
        assert uow.work_orders.ids_for_job_number("1001") == ["jobber:J-1", "jobber:J-2"]
        assert uow.work_orders.ids_for_job_number("1001", company="acme") == ["jobber:J-1"]
        assert uow.work_orders.ids_for_job_number("999") == []
