"""`closeout cases link CASE WORK_ORDER --as USER` on a workspace, as a coordinator or a script uses it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from closeout.cli import app as cli
from closeout.settings import Settings
from services.mail.ingest import import_mail
from closeout.wiring import open_app
from exceptions_queue.cases import CaseKind
from exceptions_queue.users import Role
from services.users import add_user
from mail_factory import CUSTOMERS, mail, work_order

runner = CliRunner()
CONFIG = """
[[companies]]
id = "acme"
name = "Acme HVAC"

[companies.ledger]
realm_id = "1"
"""


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A workspace with Acme's three jobs and one imported email that names none of them."""
    monkeypatch.setenv("CLOSEOUT_HOME", str(tmp_path / "workspace"))
    monkeypatch.delenv("CLOSEOUT_DATABASE_URL", raising=False)
    config = tmp_path / "closeout.toml"
    config.write_text(CONFIG)
    box = tmp_path / "export" / "new"
    box.mkdir(parents=True)
    (box / "1.eml").write_bytes(mail(5, "Site visit", "Gate code is 4471.", sender="someone@elsewhere.example"))
    with open_app(settings=Settings(), config_path=config) as application:
        with application.store.unit_of_work() as uow:
            for job, email in CUSTOMERS.items():
                uow.work_orders.save(work_order(job, email=email))
            uow.commit()
        import_mail(application, box.parent)
        add_user(application.store, "dana", Role.coordinator, "a long enough password", actor="test")  # --as dana
        with application.store.unit_of_work() as uow:
            (case,) = uow.cases.list(kinds=(CaseKind.unmatched_email,))
    return config, case.id


def test_a_coordinator_links_an_email_by_job_number_and_a_second_link_is_refused_in_one_line(workspace):
    config, case_id = workspace
    done = runner.invoke(cli, ["cases", "link", str(case_id), "1043", "--as", "dana", "--config", str(config),
                               "--json"], catch_exceptions=False)
    assert done.exit_code == 0, done.stdout
    case = json.loads(done.stdout)
    assert case["status"] == "resolved"
    linked = next(e for e in case["history"] if e["action"] == "email_linked")
    assert (linked["actor"], linked["after"]["job_number"]) == ("dana", "1043")
    with open_app(settings=Settings(), config_path=config) as application, application.store.unit_of_work() as uow:
        order = next(o for o in uow.work_orders.latest(company="acme") if o.job_number == "1043")
        (message,) = uow.messages.list(company="acme")
    assert [n.text for n in order.notes] == ["Gate code is 4471."]
    assert (message.method, message.explanation) == ("manual", "linked by dana")
    again = runner.invoke(cli, ["cases", "link", str(case_id), "1044", "--config", str(config)])
    assert again.exit_code == 2 and "resolved" in again.stdout and "Traceback" not in again.stdout
    missing = runner.invoke(cli, ["cases", "link", "999", "1044", "--config", str(config)])
    assert missing.exit_code == 2 and "no case #999" in missing.stdout
