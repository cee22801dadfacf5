"""The queue's tables on SQLite and PostgreSQL: users and tokens, mapping overrides, the global audit trail."""

from __future__ import annotations

from exceptions_queue.service import CaseQueue
from exceptions_queue.users import Role, hash_password, token_digest
from workorders.anomalies import Anomaly, AnomalyCode


def test_users_and_their_tokens_round_trip(sql_store):
    with sql_store.unit_of_work() as uow:
        uow.users.add("dana", Role.coordinator, hash_password("a long password"))
        uow.users.add_token("dana", token_digest("co_secret"), "nightly script")
        uow.commit()
    with sql_store.unit_of_work() as uow:
        assert uow.users.get("dana").role is Role.coordinator
        assert uow.users.user_for_token(token_digest("co_secret")).username == "dana"
        assert uow.users.user_for_token(token_digest("co_other")) is None
        uow.users.add("dana", Role.viewer, hash_password("another long one"))
        assert [(u.username, u.role) for u in uow.users.all()] == [("dana", Role.viewer)]


def test_a_mapping_override_replaces_an_earlier_one_and_says_what_it_replaced(sql_store):
    with sql_store.unit_of_work() as uow:
        assert uow.mapping_overrides.put(company="nw", table="items", key="EQUIP-VRF-9", value="2", actor="d") is None
        assert uow.mapping_overrides.put(company="nw", table="items", key="EQUIP-VRF-9", value="7", actor="d") == "2"
        uow.mapping_overrides.put(company="other", table="items", key="X", value="1", actor="d")
        uow.commit()
    with sql_store.unit_of_work() as uow:
        assert uow.mapping_overrides.for_company("nw") == {"items": {"EQUIP-VRF-9": "7"}}


def test_the_global_audit_trail_holds_product_events_and_every_case_change_newest_first(sql_store):
    with sql_store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases, clock=uow.clock)
        case, _ = queue.open_case(Anomaly(code=AnomalyCode.rule_blocked, subject="csv:J1@v1", summary="blocked"))
        uow.audit.append(actor="ada", action="user_added", subject="user:dana", after={"role": "coordinator"})
        queue.assign(case.id, actor="ada", assignee="dana")
        uow.commit()
    with sql_store.unit_of_work() as uow:
        trail = uow.audit.recent(limit=10)
    assert [(e.actor, e.action, e.case_id) for e in trail] == [
        ("ada", "assigned", case.id), ("ada", "user_added", None), ("closeout", "opened", case.id)]


def test_the_database_itself_refuses_to_rewrite_or_delete_audit_history(sql_store):
    import pytest
    import sqlalchemy as sa

    with sql_store.unit_of_work() as uow:
        CaseQueue(uow.cases, clock=uow.clock).open_case(
            Anomaly(code=AnomalyCode.rule_blocked, subject="csv:J1@v1", summary="blocked"))
        uow.audit.append(actor="ada", action="user_added", subject="user:dana")
        uow.commit()
    for statement in ("UPDATE case_history SET note = 'rewritten'", "DELETE FROM case_history",
                      "UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with sql_store.engine.begin() as connection, pytest.raises(sa.exc.DBAPIError, match="append-only"):
            connection.execute(sa.text(statement))
    with sql_store.unit_of_work() as uow:
        assert uow.audit.recent(limit=5)[0].actor == "ada"
