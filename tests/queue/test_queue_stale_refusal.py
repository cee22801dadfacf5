"""A case about the ledger's refusal does not outlive the refusal: on the demo (SQLite and the ledger sandbox),
through the desk the UI, the API and the CLI use."""

from __future__ import annotations

import pytest

from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import CaseFilters
from exceptions_queue.users import Role, User
from services.casework import StoreDesk
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch

DANA = User(username="dana", role=Role.coordinator)


@pytest.fixture
def refused(tmp_path):
    """The demo pulled, prepared and pushed; job 1039's missing item then mapped to a code QuickBooks does not
    have (an entry stored without the ledger check, as a hand-edited mapping file's is) and replayed: refused."""
    settings = Settings(home=tmp_path / "workspace", database_url=None, config=None)
    config = install_demo_config(settings.resolved_home())
    with open_app(settings=settings, config_path=config) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="stale-refusal").evaluated:
            pass
        for company in app.companies():
            while (step := push_batch(app, company)).pushed + step.rejected + step.uncertain:
                pass
        desk = StoreDesk(app)
        (mapping,) = desk.list_cases(CaseFilters(kinds=(CaseKind.missing_mapping,)))
        with app.store.unit_of_work() as uow:
            uow.mapping_overrides.put(company="northwind", table="items", key="EQUIP-VRF-9", value="99", actor="test")
            uow.commit()
        desk.replay(mapping.id, actor=DANA)
        (rejection,) = desk.list_cases(CaseFilters(kinds=(CaseKind.ledger_rejected,)))
        yield desk, mapping, rejection


def test_the_refusal_case_closes_itself_saying_why_when_the_right_mapping_invoices_the_job(refused):
    desk, mapping, rejection = refused
    assert rejection.work_order_id == mapping.work_order_id and "Invalid Reference Id" in rejection.summary

    desk.add_mapping(mapping.id, actor=DANA, table="items", key="EQUIP-VRF-9", value="2")

    closed = desk.context(rejection.id).case
    assert closed.status is CaseStatus.resolved
    last = closed.history[-1]
    assert (last.actor, last.action) == ("closeout", "auto_resolved")
    assert last.note.startswith("invoice NW-1039 of version 1 is now in quickbooks (ledger id ")
    assert desk.context(mapping.id).case.status is CaseStatus.resolved
    assert desk.list_cases(CaseFilters(kinds=(CaseKind.ledger_rejected,))) == []


def test_replaying_the_refusal_case_itself_once_the_mapping_is_right_closes_it_once(refused):
    desk, mapping, rejection = refused
    with desk.app.store.unit_of_work() as uow:
        uow.mapping_overrides.put(company="northwind", table="items", key="EQUIP-VRF-9", value="2", actor="test")
        uow.commit()

    replayed = desk.replay(rejection.id, actor=DANA)

    assert replayed.status is CaseStatus.resolved
    actions = [entry.action for entry in replayed.history]
    assert actions.count("auto_resolved") == 1 and actions.count("replayed") == 1
    assert "created in quickbooks" in next(e.note for e in replayed.history if e.action == "replayed")
