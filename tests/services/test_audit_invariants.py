"""The audit judges each invariant of DESIGN.md: it passes on a clean run and names the items of each broken one."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from services.audit import run_audit
from closeout.cli import app as cli
from closeout.wiring import open_app
from reliability.worker import Pass
from reliability.workload import REALM, field_message, write_csv_drop
from sandbox.qbo_store import QboStore
from storage.tables import mail_attachments, mail_matches, mail_messages, push_records

CONFIG = f"""
[[companies]]
id = "qbo-co"
name = "Audit QBO"
timezone = "Pacific/Auckland"
currency = "USD"  # the sandbox realm is a US company: its home currency is USD
[companies.ledger]
kind = "quickbooks"
realm_id = "{REALM}"
create_customers = true
[[companies.sources]]
kind = "csv"
name = "csv-drop"
path = "jobs"
[[companies.mailboxes]]
kind = "maildir"
name = "field"
path = "maildir"
[companies.mappings]
doc_number_prefix = "Q-"
items = {{ "LAB" = "1", "PART" = "2" }}
tax_codes = {{ taxable = "TAX", exempt = "NON" }}
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A workspace after one clean pipeline run: 30 CSV jobs (invoices, cases, no-invoice) and 12 messages."""
    import random

    home = tmp_path_factory.mktemp("audit") / "workspace"
    write_csv_drop(home / "jobs", 30, seed=3, files=2)
    rng = random.Random(4)
    for sub in ("cur", "tmp", "new"):
        (home / "maildir" / sub).mkdir(parents=True)
    for n in range(12):
        (home / "maildir" / "new" / f"{n}.campaign").write_bytes(field_message(n, jobs=30, rng=rng))
    (home / "closeout.toml").write_text(CONFIG, encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CLOSEOUT_HOME", str(home))
        env.setenv("CLOSEOUT_LEDGER_TIME_SCALE", "60")  # pace the ledger calls as if a minute were a second
        env.delenv("CLOSEOUT_DATABASE_URL", raising=False)
        with open_app(config_path=home / "closeout.toml") as app:
            for _ in range(2):
                Pass(app, home / "errors.log", stale=timedelta(minutes=10)).run()
    assert not (home / "errors.log").exists()
    return home


@pytest.fixture
def workspace_copy(finished_run, tmp_path, monkeypatch) -> Path:
    """A private copy of the finished run that a test may break."""
    home = tmp_path / "workspace"
    shutil.copytree(finished_run, home)
    monkeypatch.setenv("CLOSEOUT_HOME", str(home))
    monkeypatch.delenv("CLOSEOUT_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLOSEOUT_CONFIG", raising=False)
    return home


def audit(home: Path):
    with open_app(config_path=home / "closeout.toml") as app:
        return run_audit(app)


def execute(home: Path, *statements) -> None:
    engine = sa.create_engine(f"sqlite:///{home / 'closeout.db'}")
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(statement)
    engine.dispose()


def pushed_keys(home: Path) -> list[tuple[str, str]]:
    engine = sa.create_engine(f"sqlite:///{home / 'closeout.db'}")
    with engine.connect() as connection:
        rows = connection.execute(sa.select(push_records.c.idempotency_key, push_records.c.ledger_id)
                                  .where(push_records.c.status == "pushed")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_a_clean_run_passes_every_invariant_and_counts_each_job_and_message_once(workspace_copy):
    report = audit(workspace_copy)

    assert report.ok and report.failures == [], report.as_dict()
    assert report.jobs_seen == 30 == sum(report.accounted.values())
    assert {"invoice", "case", "no_invoice"} <= set(report.accounted)
    assert report.mail.messages_seen == 12 == sum(report.mail.accounted.values())
    assert report.mail.accounted["attached"] > 0 and report.mail.accounted["case"] > 0
    assert report.invoices_pushed == report.ledger_invoices_found > 0


def test_an_invoice_deleted_in_the_ledger_fails_the_ledger_agreement_and_names_it(workspace_copy):
    _, ledger_id = pushed_keys(workspace_copy)[0]
    store = QboStore(workspace_copy / "sandbox")
    with store.transaction() as db:
        db.execute("DELETE FROM entities WHERE realm = ? AND entity = 'Invoice' AND id = ?", (REALM, ledger_id))

    report = audit(workspace_copy)

    assert report.failures == ["ledger_agrees"]
    assert len(report.missing_in_ledger) == 1


def test_a_push_record_whose_amount_differs_from_the_ledgers_invoice_is_a_disagreement(workspace_copy):
    key, _ = pushed_keys(workspace_copy)[0]
    execute(workspace_copy, sa.update(push_records).where(push_records.c.idempotency_key == key)
            .values(amount=Decimal("1.00")))

    report = audit(workspace_copy)

    assert report.failures == ["ledger_agrees"]
    assert [d["kind"] for d in report.ledger_disagreements] == ["amount_mismatch"]


def test_a_second_invoice_for_one_doc_number_in_the_ledger_fails_exactly_once(workspace_copy):
    _, ledger_id = pushed_keys(workspace_copy)[0]
    store = QboStore(workspace_copy / "sandbox")
    with store.transaction() as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(entities)")]
        row = dict(zip(columns, db.execute("SELECT * FROM entities WHERE realm = ? AND entity = 'Invoice' AND id = ?",
                                           (REALM, ledger_id)).fetchone()))
        row["id"] = "99999"
        if "seq" in row:
            row.pop("seq")
        db.execute(f"INSERT INTO entities ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))

    report = audit(workspace_copy)

    assert "exactly_one_invoice" in report.failures
    assert len(report.duplicates_in_ledger) == 1


def test_a_job_whose_outcome_was_dropped_is_unaccounted_for(workspace_copy):
    key, _ = pushed_keys(workspace_copy)[0]
    execute(workspace_copy, sa.delete(push_records).where(push_records.c.idempotency_key == key))

    report = audit(workspace_copy)

    assert report.failures[0] == "every_job_accounted_for"
    assert len(report.unaccounted) == 1


def test_a_message_whose_match_was_dropped_is_unaccounted_for(workspace_copy):
    execute(workspace_copy, sa.delete(mail_matches).where(
        mail_matches.c.message_pk == sa.select(sa.func.min(mail_matches.c.message_pk)).scalar_subquery()))

    report = audit(workspace_copy)

    assert report.failures == ["every_message_accounted_for"]
    assert len(report.mail.unaccounted) == 1


def test_a_kept_raw_message_with_no_record_is_reported_lost(workspace_copy):
    first = sa.select(sa.func.min(mail_messages.c.id)).scalar_subquery()
    execute(workspace_copy, sa.delete(mail_matches).where(mail_matches.c.message_pk == first),
            sa.delete(mail_attachments).where(mail_attachments.c.message_pk == first),
            sa.delete(mail_messages).where(mail_messages.c.id == first))

    report = audit(workspace_copy)

    assert report.failures == ["every_message_accounted_for"]
    assert len(report.mail.lost) == 1 and report.mail.messages_seen == 11


def test_audit_json_exits_1_and_lists_the_failed_invariant_and_its_items(workspace_copy):
    execute(workspace_copy, sa.delete(mail_matches))

    result = CliRunner().invoke(cli, ["audit", "--json", "--config", str(workspace_copy / "closeout.toml")])

    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["failures"] == ["every_message_accounted_for"] and report["ok"] is False
    assert report["mail"]["unaccounted"] and report["every_job_accounted_for"] is True


def test_audit_names_the_failed_invariant_and_its_items_for_a_person(workspace_copy):
    key, _ = pushed_keys(workspace_copy)[0]
    execute(workspace_copy, sa.delete(push_records).where(push_records.c.idempotency_key == key))

    result = CliRunner().invoke(cli, ["audit", "--config", str(workspace_copy / "closeout.toml")])

    assert result.exit_code == 1, result.output
    assert "an invariant failed: every_job_accounted_for" in result.output
    assert "jobs unaccounted for: csv:" in result.output
