"""One name per decision across the case page, the JSON API and the CLI; an assignee is a person who can take the
case; a refusal from the ledger closes itself once the job is invoiced."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exceptions_queue.cases import SEVERITY_BY_KIND, Case, CaseKind, CaseStatus
from exceptions_queue.desk import (CUSTOMER_REQUESTS, DECISION_NAMES, DecisionError, offered_decisions,
                                   steps_elsewhere)
from exceptions_queue.service import CaseQueue
from exceptions_queue.users import Role, User
from services.casework import DECISIONS, StoreDesk, take_decision
from services.users import add_user
from workorders.anomalies import Anomaly

ADA = User(username="ada", role=Role.coordinator)


def anomaly(kind: CaseKind, subject: str, *, version: int | None = 1, actions: tuple[str, ...] = ()) -> Anomaly:
    return Anomaly(code=kind, subject=subject, company="acme", summary=f"{kind} about {subject}",
                   work_order_id="csv:J1" if version else None, work_order_version=version,
                   suggested_actions=actions)


def test_every_decision_name_is_one_the_desk_takes_and_a_cases_command():
    from closeout.cli import app  # noqa: F401  (registers every command on the cases app)
    from closeout.cli.base import cases_app

    own_methods = {name for name in DECISION_NAMES if name not in DECISIONS}
    commands = {command.name for command in cases_app.registered_commands if not command.hidden}

    assert set(DECISIONS) <= set(DECISION_NAMES)
    corrections = {"apply_correction", "apply_as_credit", "keep_invoice"}  # all through StoreDesk.correct
    requests = set(CUSTOMER_REQUESTS)  # through StoreDesk.decide: they need the company's notify config
    assert own_methods == {"replay", "add_mapping", "fix_price", "link_email"} | corrections | requests
    assert all(callable(getattr(StoreDesk, name)) for name in own_methods - corrections - requests)
    assert callable(StoreDesk.correct)
    assert set(DECISION_NAMES) <= commands


@pytest.mark.parametrize("kind", list(CaseKind))
@pytest.mark.parametrize("status", list(CaseStatus))
def test_a_case_offers_only_decisions_that_exist_and_the_rest_as_steps_elsewhere(kind, status):
    now = datetime(2026, 11, 2, tzinfo=UTC)
    case = Case(id=1, kind=kind, severity=SEVERITY_BY_KIND[kind], status=status, subject="s", summary="why",
                work_order_id="csv:J1", work_order_version=1, opened_at=now, updated_at=now,
                suggested_actions=("attach_to_work_order", "fix_at_source", "approve_override", "ignore_duplicate"))

    offered = offered_decisions(case)

    assert offered and set(offered) <= set(DECISION_NAMES)
    assert "attach_to_work_order" not in offered and "fix_at_source" not in offered
    assert steps_elsewhere(case) == ("fix_at_source",)
    if case.is_open:
        assert {"resolve", "ignore", "assign", "replay"} <= set(offered)
    else:
        assert "resolve" not in offered


def test_a_case_is_assigned_only_to_a_user_of_the_store_who_may_decide(sql_store):
    add_user(sql_store, "dana", Role.coordinator, "a long enough password", actor="test")
    add_user(sql_store, "vic", Role.viewer, "a long enough password", actor="test")
    with sql_store.unit_of_work() as uow:
        case, _ = CaseQueue(uow.cases, clock=uow.clock).open_case(anomaly(CaseKind.rule_blocked, "csv:J1@v1"))
        uow.commit()

    with pytest.raises(DecisionError, match="no user 'ghost'"):
        take_decision(sql_store, case.id, "assign", actor=ADA, fields={"assignee": "ghost"})
    with pytest.raises(DecisionError, match="viewer"):
        take_decision(sql_store, case.id, "assign", actor=ADA, fields={"assignee": "vic"})
    with pytest.raises(DecisionError, match="no user 'ada'"):  # "me", but ada cannot sign in
        take_decision(sql_store, case.id, "assign", actor=ADA, fields={})
    assigned = take_decision(sql_store, case.id, "assign", actor=ADA, fields={"assignee": " Dana "})

    assert (assigned.assignee, assigned.status) == ("dana", CaseStatus.in_progress)
    with sql_store.unit_of_work() as uow:
        assert [entry.action for entry in uow.cases.get(case.id).history] == ["opened", "assigned"]


def test_the_ledgers_refusals_of_a_job_close_once_a_version_of_it_is_invoiced_and_later_ones_stay(cases_repository,
                                                                                                   clock):
    queue = CaseQueue(cases_repository, clock=clock)
    first, _ = queue.open_case(anomaly(CaseKind.ledger_rejected, "csv:J1@v1:quickbooks"))
    same, _ = queue.open_case(anomaly(CaseKind.ledger_rejected, "csv:J1@v2:quickbooks", version=2))
    later, _ = queue.open_case(anomaly(CaseKind.ledger_rejected, "csv:J1@v3:quickbooks", version=3))
    blocked, _ = queue.open_case(anomaly(CaseKind.rule_blocked, "csv:J1@v2", version=2))

    closed = queue.close_refusals_of_invoiced("csv:J1", 2, note="invoice AC-1001 of version 2 is now in quickbooks")

    assert sorted(case.id for case in closed) == sorted([first.id, same.id])
    for case in (first, same):
        cleared = queue.get(case.id)
        assert cleared.status is CaseStatus.resolved
        assert (cleared.history[-1].actor, cleared.history[-1].action) == ("closeout", "auto_resolved")
        assert cleared.history[-1].note == "invoice AC-1001 of version 2 is now in quickbooks"
    assert queue.get(later.id).is_open and queue.get(blocked.id).is_open


@pytest.fixture
def blocked_job_site(tmp_path):
    """A store with one job its rules block (no job note), a coordinator with a token, and the UI over it."""
    from fastapi.testclient import TestClient

    from connectors.source_paging import SourcePage
    from exceptions_queue.web import create_app
    from services.config import CloseoutConfig
    from services.intake import pull_source
    from services.prepare import prepare_batch
    from services.users import create_token
    from tests.fakes import FakeRuntime, FakeSource, company_config, csv_job

    app = FakeRuntime(CloseoutConfig(companies=(company_config(),)), home=tmp_path, sources={
        "csv-drop": FakeSource([SourcePage(jobs=(csv_job("J1", "1001", notes=""),), next_cursor="c1")])})
    company = app.config.company("acme")
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    add_user(app.store, "dana", Role.coordinator, "a long enough password", actor="test")
    token = create_token(app.store, "dana", label="test", actor="test")
    with app.store.read() as uow:
        (case,) = uow.cases.list(kinds=(CaseKind.rule_blocked,))
    web = TestClient(create_app(StoreDesk(app), secret_key="k"), follow_redirects=False)
    return {"app": app, "case": case.id, "token": token, "web": web}


def test_each_outcome_of_a_blocked_jobs_resolve_is_one_name_in_the_cli_the_api_and_the_case_page(blocked_job_site):
    import typer.main

    from closeout.cli import app  # noqa: F401  (registers every command on the cases app)
    from closeout.cli.base import cases_app
    from exceptions_queue.desk import OUTCOME_NAMES

    (outcome,) = [p for p in typer.main.get_command(cases_app).commands["resolve"].params if p.name == "outcome"]
    cli_help = str(outcome.help)
    web, case_id = blocked_job_site["web"], blocked_job_site["case"]
    login = web.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert web.post("/login", data={"username": "dana", "password": "a long enough password",
                                    "csrf_token": login, "next": "/"}).status_code == 303
    page = web.get(f"/cases/{case_id}").text
    offered = [chunk.split('"', 1)[0] for chunk in page.split('name="outcome" value="')[1:]]

    assert all(name in cli_help for name in OUTCOME_NAMES)
    assert offered == list(OUTCOME_NAMES)
    api = {"Authorization": f"Bearer {blocked_job_site['token']}"}
    unknown = web.post(f"/api/cases/{case_id}/decisions", headers=api,
                       json={"decision": "resolve", "outcome": "later", "note": "x"})
    assert unknown.status_code == 422 and all(name in unknown.json()["error"] for name in OUTCOME_NAMES)


def test_a_blocked_jobs_case_resolved_without_an_outcome_is_refused_by_the_api_and_the_page(blocked_job_site):
    web, case_id = blocked_job_site["web"], blocked_job_site["case"]
    api = {"Authorization": f"Bearer {blocked_job_site['token']}"}

    plain = web.post(f"/api/cases/{case_id}/decisions", headers=api, json={"decision": "resolve", "note": "done"})
    login = web.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    web.post("/login", data={"username": "dana", "password": "a long enough password", "csrf_token": login,
                             "next": "/"})
    csrf = web.get(f"/cases/{case_id}").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = web.post(f"/cases/{case_id}/decide", data={"csrf_token": csrf, "decision": "resolve", "note": "done"})
    flashed = web.get(f"/cases/{case_id}").text
    waited = web.post(f"/api/cases/{case_id}/decisions", headers=api,
                      json={"decision": "resolve", "outcome": "wait", "note": "the tech adds the note"})

    assert plain.status_code == 422
    assert all(name in plain.json()["error"] for name in ("invoice_anyway", "bill_nothing", "wait"))
    assert refused.status_code == 303 and 'class="flash error' in flashed and "bill_nothing" in flashed
    assert waited.status_code == 200
    assert waited.json()["status"] == "open" and "waiting for source" in waited.json()["tags"]
    with blocked_job_site["app"].store.read() as uow:
        assert [e.action for e in uow.cases.get(case_id).history] == ["opened", "outcome_decided", "tagged"]


@pytest.fixture
def unsigned_job_site(tmp_path):
    """A store with one job completed without a signature (sign_off_required blocks it), a company that e-mails
    and reads a mailbox, a coordinator with a token, and the UI over it. Nothing is sent: a request is recorded."""
    from fastapi.testclient import TestClient

    from connectors.source_paging import SourcePage
    from exceptions_queue.web import create_app
    from services.config import CloseoutConfig, NotifyConfig
    from services.intake import pull_source
    from services.mailbox_config import MailboxConfig
    from services.prepare import prepare_batch
    from services.users import create_token
    from tests.fakes import FakeRuntime, FakeSource, company_config, csv_job

    company = company_config(
        notify=NotifyConfig(smtp_host="127.0.0.1", smtp_port=2525, smtp_security="plain", sender="office@acme.test"),
        mailboxes=(MailboxConfig(kind="maildir", name="field", path=tmp_path / "mail"),))
    app = FakeRuntime(CloseoutConfig(companies=(company,)), home=tmp_path, sources={
        "csv-drop": FakeSource([SourcePage(jobs=(csv_job("J1", "1001", signed_by="", signed_at=""),),
                                           next_cursor="c1")])})
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    add_user(app.store, "dana", Role.coordinator, "a long enough password", actor="test")
    token = create_token(app.store, "dana", label="test", actor="test")
    with app.store.read() as uow:
        (case,) = uow.cases.list(kinds=(CaseKind.rule_blocked,))
    web = TestClient(create_app(StoreDesk(app), secret_key="k"), follow_redirects=False)
    return {"app": app, "case": case.id, "token": token, "web": web}


def test_request_sign_off_is_one_name_on_the_case_page_the_api_and_the_cli_and_records_one_customer_email(
        unsigned_job_site):
    import typer.main

    from closeout.cli import app  # noqa: F401  (registers every command on the cases app)
    from closeout.cli.base import cases_app

    web, case_id = unsigned_job_site["web"], unsigned_job_site["case"]
    login = web.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    web.post("/login", data={"username": "dana", "password": "a long enough password", "csrf_token": login,
                             "next": "/"})
    page = web.get(f"/cases/{case_id}").text
    offered = [chunk.split('"', 1)[0] for chunk in page.split('name="decision" value="')[1:]]
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    api = {"Authorization": f"Bearer {unsigned_job_site['token']}"}

    assert "request_sign_off" in offered and "request_photos" not in offered
    assert {"request_sign_off", "request_photos"} <= set(typer.main.get_command(cases_app).commands)
    wrong = web.post(f"/api/cases/{case_id}/decisions", headers=api, json={"decision": "request_photos"})
    assert wrong.status_code == 422 and "not photos_before_after" in wrong.json()["error"]
    asked = web.post(f"/cases/{case_id}/decide", data={"csrf_token": csrf, "decision": "request_sign_off",
                                                        "note": "Thanks!"})
    flashed = web.get(f"/cases/{case_id}").text
    again = web.post(f"/api/cases/{case_id}/decisions", headers=api, json={"decision": "request_sign_off"})

    assert asked.status_code == 303 and "Sign-off requested" in flashed and 'class="flash error' not in flashed
    assert again.status_code == 422 and "already asked" in again.json()["error"]
    with unsigned_job_site["app"].store.read() as uow:
        (notice,) = uow.notifications.all()
        assert [e.action for e in uow.cases.get(case_id).history] == ["opened", "customer_asked"]
    assert (notice.notice.kind, notice.notice.recipient) == ("customer_request", "hello@maplestreetbakery.example")
    assert "Job #1001" in notice.notice.subject and "Thanks!" in notice.notice.body


def test_a_request_to_the_customer_is_refused_outside_the_desk_that_holds_the_company_config(sql_store):
    with sql_store.unit_of_work() as uow:
        case, _ = CaseQueue(uow.cases, clock=uow.clock).open_case(anomaly(CaseKind.rule_blocked, "csv:J1@v1"))
        uow.commit()

    with pytest.raises(DecisionError, match="StoreDesk.decide"):
        take_decision(sql_store, case.id, "request_sign_off", actor=ADA, fields={})
