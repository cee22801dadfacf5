"""Edit and replay on the demo, through the desk the UI uses: choose a customer for an ambiguous match."""

from __future__ import annotations

import pytest

from services.casework import StoreDesk
from closeout.settings import Settings
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import DecisionError
from exceptions_queue.users import Role, User
from workorders.push import PushStatus

DANA = User(username="dana", role=Role.coordinator)


@pytest.fixture
def demo_app(tmp_path):
    """The demo pulled and prepared; one customer's email matches two ledger customers before any push."""
    settings = Settings(home=tmp_path / "workspace", database_url=None, config=None)
    config = install_demo_config(settings.resolved_home())
    with open_app(settings=settings, config_path=config) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="replay-test").evaluated:
            pass
        company = app.config.company("northwind")
        with app.store.unit_of_work() as uow:
            record = next(r for r in uow.push_records.all(status=PushStatus.ready) if r.company == company.id
                          and r.draft.customer_email)
        ledger = app.ledger_for(company)
        twins = [ledger.create_customer(name=f"{record.draft.customer_name} ({n})", email=record.draft.customer_email)
                 for n in (1, 2)]
        while (step := push_batch(app, company)).pushed + step.rejected + step.uncertain:
            pass
        yield app, record, twins


def test_choosing_the_customer_of_an_ambiguous_match_replays_the_job_into_that_customer(demo_app):
    app, record, twins = demo_app
    desk = StoreDesk(app)
    case = next(c for c in desk.list_cases(desk_filters(CaseKind.ambiguous_customer))
                if c.work_order_id == record.work_order_id)
    assert sorted(case.evidence["candidates"]) == sorted(twins)
    order = desk.context(case.id).work_order

    with pytest.raises(DecisionError, match="customers"):
        desk.add_mapping(case.id, actor=DANA, table="customer", key=order["customer"]["source_id"], value=twins[1])
    done = desk.add_mapping(case.id, actor=DANA, table="customers", key=order["customer"]["source_id"],
                            value=twins[1])

    assert done.status is CaseStatus.resolved
    assert [h.action for h in done.history][-3:] == ["mapping_added", "replayed", "auto_resolved"]
    with app.store.unit_of_work() as uow:
        pushed = uow.push_records.get(record.idempotency_key)
    assert pushed.status is PushStatus.pushed
    invoices = app.ledger_for(app.config.company("northwind")).find_invoices([pushed.doc_number])
    assert [(i.customer_ref, i.subtotal) for i in invoices] == [(twins[1], pushed.amount)]
    trail = desk.audit_trail(limit=50)
    assert any(e.action == "mapping_added" and e.case_id is None and e.actor == "dana" for e in trail)


def test_a_viewer_cannot_replay_or_add_a_mapping(demo_app):
    app, _, _ = demo_app
    desk = StoreDesk(app)
    viewer = User(username="vic", role=Role.viewer)
    case = desk.list_cases(desk_filters(CaseKind.ambiguous_customer))[0]
    with pytest.raises(PermissionError):
        desk.replay(case.id, actor=viewer)
    with pytest.raises(PermissionError):
        desk.add_mapping(case.id, actor=viewer, table="customers", key="x", value="1")
    assert desk.context(case.id).case.history[-1].action == "opened"


def desk_filters(kind):
    from exceptions_queue.desk import CaseFilters

    return CaseFilters(kinds=(kind,))


def test_a_replay_that_leaves_the_case_open_is_flashed_as_an_error_not_a_success(demo_app):
    from fastapi.testclient import TestClient

    from exceptions_queue.web import create_app
    from services.users import add_user

    app, _, _ = demo_app
    with app.store.unit_of_work() as uow:
        blocked = next(c for c in uow.cases.list(kinds=(CaseKind.rule_blocked,)) if c.work_order_id)
    add_user(app.store, "dana", Role.coordinator, "a long enough password", actor="test")

    with TestClient(create_app(StoreDesk(app), secret_key="replay-flash"), follow_redirects=False) as client:
        csrf = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"username": "dana", "password": "a long enough password", "next": "/",
                                    "csrf_token": csrf})
        page = client.get(f"/cases/{blocked.id}").text
        csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post(f"/cases/{blocked.id}/replay", data={"csrf_token": csrf})
        after = client.get(f"/cases/{blocked.id}").text

    assert 'class="flash error"' in after and "Not cleared, still open" in after
    assert 'class="flash ok"' not in after
