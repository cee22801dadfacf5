"""`closeout cases assign|resolve|ignore|reopen` and `closeout users` on a workspace store, as a script uses them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from closeout.cli import app
from closeout.settings import Settings
from exceptions_queue.cases import CaseKind
from exceptions_queue.service import CaseQueue
from exceptions_queue.users import Role
from services.users import add_user
from storage import open_store
from workorders.anomalies import Anomaly

runner = CliRunner()


@pytest.fixture
def case_id(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_HOME", str(tmp_path / "workspace"))
    monkeypatch.delenv("CLOSEOUT_DATABASE_URL", raising=False)
    store = open_store(Settings().store_url())
    try:
        with store.unit_of_work() as uow:
            case, _ = CaseQueue(uow.cases).open_case(Anomaly(code=CaseKind.rule_blocked, subject="csv:J9@v1",
                                                             company="northwind", summary="blocked"))
            uow.commit()
    finally:
        store.close()
    return case.id


def invoke(*args: str, **kwargs):
    return runner.invoke(app, list(args), catch_exceptions=False, **kwargs)


def test_a_script_assigns_ignores_with_a_reason_and_reopens_a_case_reading_json(case_id):
    store = open_store(Settings().store_url())
    for name in ("ada", "dana"):  # `--as` and an assignee name people of the store
        add_user(store, name, Role.coordinator, "a long enough password", actor="test")
    store.close()
    assigned = json.loads(invoke("cases", "assign", str(case_id), "dana", "--as", "ada", "--json").stdout)
    assert (assigned["assignee"], assigned["status"]) == ("dana", "in_progress")
    refused = invoke("cases", "ignore", str(case_id))
    assert refused.exit_code == 2 and "reason" in refused.stdout
    ignored = json.loads(invoke("cases", "ignore", str(case_id), "-m", "billed by hand", "--json").stdout)
    assert ignored["status"] == "ignored" and ignored["history"][-1]["note"] == "billed by hand"
    reopened = json.loads(invoke("cases", "reopen", str(case_id), "--json").stdout)
    assert reopened["status"] == "open"
    assert invoke("cases", "resolve", "999").exit_code == 2


def test_users_are_added_with_a_hashed_password_and_listed_without_it(case_id):
    added = invoke("users", "add", "dana", "--role", "finance", "--password-stdin", input="a long password\n")
    assert added.exit_code == 0, added.stdout
    listed = json.loads(invoke("users", "list", "--json").stdout)
    assert [(u["username"], u["role"]) for u in listed] == [("dana", "finance")]
    assert "a long password" not in json.dumps(listed)
    short = invoke("users", "add", "eve", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "10 characters" in short.stdout
    token = invoke("users", "token", "dana", "--label", "nightly")
    assert token.exit_code == 0 and token.stdout.strip().startswith("co_")
