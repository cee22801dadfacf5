"""`closeout cases fix-price CASE LINE PRICE -m REASON --as USER` on the demo workspace, as a coordinator uses it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from closeout.cli import app as cli
from closeout.settings import Settings
from services.intake import pull_source
from services.prepare import prepare_batch
from services.users import add_user
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.users import Role

runner = CliRunner()


@pytest.fixture
def blocked(tmp_path, monkeypatch):
    """The demo pulled and prepared; the case about job 1006's unpriced part, and that line's id."""
    monkeypatch.setenv("CLOSEOUT_HOME", str(tmp_path / "workspace"))
    monkeypatch.delenv("CLOSEOUT_DATABASE_URL", raising=False)
    config = install_demo_config(Settings().resolved_home())
    with open_app(settings=Settings(), config_path=config) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="fix-price-cli").evaluated:
            pass
        add_user(app.store, "vic", Role.viewer, "a long enough password", actor="test")
        add_user(app.store, "dana", Role.coordinator, "a long enough password", actor="test")
        with app.store.unit_of_work() as uow:
            for case in uow.cases.list(kinds=(CaseKind.rule_blocked,), statuses=tuple(CaseStatus)):
                order = uow.work_orders.get(case.work_order_id, case.work_order_version)
                if order is not None and order.job_number == "1006":
                    line = next(item.source_id for item in order.line_items if item.unit_price is None)
                    return config, case.id, line
    raise AssertionError("the demo has no blocked case for job 1006")


def test_a_coordinator_fixes_a_price_from_the_command_line_and_the_job_is_invoiced(blocked):
    config, case_id, line = blocked
    done = runner.invoke(cli, ["cases", "fix-price", str(case_id), line, "240.00", "-m", "price list 2026",
                               "--as", "dana", "--config", str(config), "--json"])
    assert done.exit_code == 0, done.stdout
    case = json.loads(done.stdout)
    assert case["status"] == "resolved"
    fixed = next(h for h in case["history"] if h["action"] == "price_fixed")
    assert fixed["actor"] == "dana" and fixed["after"] == {f"{line} unit price": "240.00"}
    assert any(h["action"] == "replayed" and "created" in h["note"] for h in case["history"])


@pytest.mark.parametrize("price, words", [("abc", "number"), ("-3", "negative")])
def test_a_bad_price_is_one_line_and_exit_2(blocked, price, words):
    config, case_id, line = blocked
    refused = runner.invoke(cli, ["cases", "fix-price", str(case_id), line, price, "-m", "typo",
                                  "--as", "dana", "--config", str(config)])
    assert refused.exit_code == 2 and words in refused.stdout
    assert refused.stdout.strip().count("\n") == 0 and "Traceback" not in refused.stdout


def test_a_viewer_named_with_as_is_refused_and_a_missing_reason_too(blocked):
    config, case_id, line = blocked
    viewer = runner.invoke(cli, ["cases", "fix-price", str(case_id), line, "10", "-m", "x", "--as", "vic",
                                 "--config", str(config)])
    assert viewer.exit_code == 2 and "viewer" in viewer.stdout
    unexplained = runner.invoke(cli, ["cases", "fix-price", str(case_id), line, "10", "--as", "dana",
                                      "--config", str(config)])
    assert unexplained.exit_code == 2 and "why" in unexplained.stdout
