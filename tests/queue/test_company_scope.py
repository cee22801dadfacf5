"""Coordinators scoped to companies, on the fakes: a person limited to some companies sees, decides, is assigned
and is told only about their cases; another company's case answers like one that does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import CaseFilters, DecisionError
from exceptions_queue.service import CaseNotFoundError, CaseQueue
from exceptions_queue.users import Role, User, UserError
from services.casework import StoreDesk, take_decision
from services.config import CloseoutConfig, UserConfig
from services.notify import record_case_assigned, record_digests
from services.users import add_user, sync_config_users
from tests.fakes import FakeRuntime, company_config
from workorders.anomalies import Anomaly, AnomalyCode

PASSWORD = "a-long-enough-password"
BOSS = User(username="boss", role=Role.admin)


@pytest.fixture
def runtime(tmp_path: Path) -> FakeRuntime:
    """Two companies, a case of each, Ann limited to acme, Bob seeing every company, both told by e-mail."""
    app = FakeRuntime(CloseoutConfig(companies=(company_config("acme"), company_config("bolt"))), home=tmp_path)
    add_user(app.store, "ann", Role.coordinator, PASSWORD, actor="test", email="ann@acme.test", companies=["acme"])
    add_user(app.store, "bob", Role.coordinator, PASSWORD, actor="test", email="bob@example.test")
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases, clock=uow.clock)
        for company in ("acme", "bolt"):
            queue.open_case(Anomaly(code=AnomalyCode.ledger_rejected, subject=f"invoice of {company}",
                                    company=company, summary=f"the ledger refused {company}'s invoice"))
        uow.commit()
    return app


def _ids(app: FakeRuntime) -> dict[str, int]:
    with app.store.unit_of_work() as uow:
        return {case.company: case.id for case in uow.cases.list(limit=10)}


def _person(app: FakeRuntime, name: str) -> User:
    with app.store.unit_of_work() as uow:
        return uow.users.get(name)


def test_a_person_limited_to_a_company_lists_and_counts_only_its_cases(runtime):
    desk, ann, bob = StoreDesk(runtime), _person(runtime, "ann"), _person(runtime, "bob")

    assert ann.companies == ("acme",) and bob.companies == ()
    assert [case.company for case in desk.list_cases(CaseFilters(), actor=ann)] == ["acme"]
    assert desk.list_cases(CaseFilters(company="bolt"), actor=ann) == []
    assert sorted(case.company for case in desk.list_cases(CaseFilters(), actor=bob)) == ["acme", "bolt"]
    counts = desk.count_open(actor=ann)
    assert counts["company"] == {"acme": 1} and counts["status"]["open"] == 1
    assert desk.count_open(actor=bob)["company"] == {"acme": 1, "bolt": 1}


def test_another_companys_case_answers_every_read_and_decision_like_a_case_that_does_not_exist(runtime):
    desk, ann = StoreDesk(runtime), _person(runtime, "ann")
    theirs = _ids(runtime)["bolt"]
    attempts = {
        "context": lambda: desk.context(theirs, actor=ann),
        "comment": lambda: desk.decide(theirs, "comment", actor=ann, fields={"note": "peek"}),
        "assign": lambda: desk.decide(theirs, "assign", actor=ann, fields={"assignee": "ann"}),
        "resolve": lambda: desk.decide(theirs, "resolve", actor=ann, fields={"note": "x", "outcome": "bill_nothing"}),
        "replay": lambda: desk.replay(theirs, actor=ann),
        "add_mapping": lambda: desk.add_mapping(theirs, actor=ann, table="items", key="K", value="1"),
        "fix_price": lambda: desk.fix_price(theirs, actor=ann, line="L1", price="1.00", reason="x"),
        "link_email": lambda: desk.link_email(theirs, actor=ann, work_order="1001"),
        "correct": lambda: desk.correct(theirs, actor=ann, choice="keep_invoice", reason="x"),
        "take_decision": lambda: take_decision(runtime.store, theirs, "tag", actor=ann, fields={"tag": "peek"}),
    }
    with pytest.raises(CaseNotFoundError) as missing:
        desk.context(99_999, actor=ann)
    for name, attempt in attempts.items():
        with pytest.raises(CaseNotFoundError) as refused:
            attempt()
        assert str(refused.value) == f"no case #{theirs}" == str(missing.value).replace("99999", str(theirs)), name
    with runtime.store.unit_of_work() as uow:
        assert [entry.action for entry in uow.cases.get(theirs).history] == ["opened"]
        assert not any(entry.subject.startswith("bolt/") for entry in uow.audit.recent())


def test_a_person_limited_to_a_company_decides_its_own_cases_as_before(runtime):
    desk, ann = StoreDesk(runtime), _person(runtime, "ann")
    mine = _ids(runtime)["acme"]

    case = desk.decide(mine, "assign", actor=ann, fields={})

    assert case.assignee == "ann" and case.status is CaseStatus.in_progress
    assert desk.context(mine, actor=ann).case.kind is CaseKind.ledger_rejected


def test_a_case_is_not_assigned_to_someone_limited_to_another_company_and_the_refusal_is_one_line(runtime):
    theirs = _ids(runtime)["bolt"]

    with pytest.raises(DecisionError) as refused:
        take_decision(runtime.store, theirs, "assign", actor=BOSS, fields={"assignee": "ann"})

    assert str(refused.value) == f"ann works only on cases of acme: case #{theirs} is bolt's"
    with runtime.store.unit_of_work() as uow:
        assert uow.cases.get(theirs).assignee is None
        assert uow.notifications.all() == []


def test_nobody_is_told_of_an_assignment_to_a_case_of_a_company_they_do_not_see(runtime):
    theirs = _ids(runtime)["bolt"]
    with runtime.store.unit_of_work() as uow:  # given to Ann behind the desk's back, say before she was limited
        case = CaseQueue(uow.cases, clock=uow.clock).assign(theirs, actor="boss", assignee="ann")

        assert record_case_assigned(uow, case) == []


def test_a_daily_digest_tells_a_scoped_person_nothing_of_another_companys_cases(runtime):
    for case_id in _ids(runtime).values():
        take_decision(runtime.store, case_id, "assign", actor=BOSS, fields={"assignee": "bob"})
    take_decision(runtime.store, _ids(runtime)["acme"], "assign", actor=BOSS, fields={"assignee": "ann"})
    runtime.store.clock.advance(hours=48)
    with runtime.store.unit_of_work() as uow:  # the bolt case, unassigned and past the SLA, goes in a digest
        CaseQueue(uow.cases, clock=uow.clock).unassign(_ids(runtime)["bolt"], actor="boss")
        uow.commit()

    record_digests(runtime.store, runtime.config.company("acme"))
    record_digests(runtime.store, runtime.config.company("bolt"))

    with runtime.store.unit_of_work() as uow:
        digests = [(record.notice.recipient, record.notice.company) for record in uow.notifications.all()
                   if record.notice.kind == "daily_digest"]
    assert sorted(digests) == [("ann@acme.test", "acme"), ("bob@example.test", "bolt")]


def test_the_audit_trail_of_a_scoped_person_holds_only_its_companies_entries(runtime):
    """The fake's trail holds the audit events only; the web test reads case histories from the SQL store's."""
    desk, ann = StoreDesk(runtime), _person(runtime, "ann")
    with runtime.store.unit_of_work() as uow:
        for company in ("acme", "bolt"):
            uow.audit.append(actor="boss", action="mapping_added", subject=f"{company}/items/K")
        uow.commit()

    seen = desk.audit_trail(actor=ann)

    assert [entry.subject for entry in seen] == ["acme/items/K"]
    assert len(desk.audit_trail(actor=_person(runtime, "bob"))) > len(seen)


def test_a_reset_keeps_a_persons_companies_unless_it_names_them_and_an_empty_list_means_every_company(runtime):
    kept = add_user(runtime.store, "ann", Role.coordinator, PASSWORD, actor="test")
    widened = add_user(runtime.store, "ann", Role.coordinator, PASSWORD, actor="test", companies=[])
    narrowed = add_user(runtime.store, "bob", Role.coordinator, PASSWORD, actor="test", companies=["bolt", "bolt"])

    assert (kept.companies, widened.companies, narrowed.companies) == (("acme",), (), ("bolt",))
    with pytest.raises(UserError, match="not a company id"):
        add_user(runtime.store, "ann", Role.coordinator, PASSWORD, actor="test", companies=["Acme Ltd"])


def test_the_configs_users_are_synced_with_their_companies_and_may_name_only_companies_of_the_config(runtime):
    from exceptions_queue.users import hash_password

    digest = hash_password(PASSWORD)
    entry = UserConfig(username="cy", password_hash=digest, companies=("bolt",))

    assert sync_config_users(runtime.store, [entry]) == ["cy"]
    assert sync_config_users(runtime.store, [entry]) == []
    assert _person(runtime, "cy").companies == ("bolt",)
    with pytest.raises(ValueError, match="names no company of the config: nope"):
        CloseoutConfig(companies=(company_config("acme"),),
                       users=(UserConfig(username="cy", password_hash=digest, companies=("nope",)),))
