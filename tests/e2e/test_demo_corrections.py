"""`closeout demo` then `closeout demo-corrections`: each of the four later changes ends as described, in both
ledgers, a second run changes nothing; and touching every invoiced demo job's updated_at opens no case."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from closeout.demo.corrections_day import copy_demo_jobs
from closeout.settings import Settings
from closeout.wiring import open_app
from exceptions_queue.cases import CaseKind
from services.audit import run_audit

pytestmark = pytest.mark.e2e

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))


def closeout(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a child process: Prefect's logging in this process would break later tests."""
    return subprocess.run([CLOSEOUT, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1"})


@pytest.fixture
def demo(prefect_api, workspace, monkeypatch) -> Path:
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    done = closeout("demo")
    assert done.returncode == 0, done.stdout + done.stderr
    return Settings().resolved_home()


def test_a_day_of_corrections_on_the_demo_ends_as_planned_in_both_ledgers_and_a_second_run_changes_nothing(demo):
    done = closeout("demo-corrections")

    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("│") and "│" in line[1:]]
    table = "\n".join(rows)
    for company in ("northwind", "harbour"):
        mine = "\n".join(row for row in rows if company in row)
        assert "harmless touch" in mine and "returned part" in mine and "cancellation" in mine
    assert table.count("nothing: no billable change") == 2
    assert table.count("applied; invoice") >= 4  # an update and a void in each ledger
    assert table.count("credit note") >= 2 and table.count("supplementary invoice") >= 2
    assert table.count("voided") >= 2
    assert "second run: 0 open changed-after-invoiced case(s); reconcile: 0 finding(s)" in done.stdout
    audit = closeout("audit")
    assert audit.returncode == 0 and "all invariants hold" in audit.stdout, audit.stdout + audit.stderr
    again = closeout("demo")  # the demo again reads the changed copies, not the bundled files: nothing reverts
    assert again.returncode == 0, again.stdout + again.stderr
    with open_app(config_path=demo / "closeout.toml") as app, app.store.unit_of_work() as uow:
        assert [c for c in uow.cases.list(kinds=(CaseKind.changed_after_invoiced,), statuses=()) if c.is_open] == []


def test_touching_every_invoiced_demo_jobs_updated_time_opens_no_case(demo):
    config = demo / "closeout.toml"
    copy_demo_jobs(demo, config)
    for path in sorted((demo / "demo-jobs").rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns, rows = list(reader.fieldnames or []), list(reader)
        for row in rows:  # a day later, written as it was
            later = datetime.fromisoformat(row["updated_at"]) + timedelta(days=1)
            row["updated_at"] = (later.isoformat(timespec="seconds") if "T" in row["updated_at"]
                                 else later.strftime("%Y-%m-%d %H:%M"))
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)

    done = closeout("run")

    assert done.returncode == 0, done.stdout + done.stderr
    with open_app(config_path=config) as app:
        with app.store.unit_of_work() as uow:
            changed = uow.cases.list(kinds=(CaseKind.changed_after_invoiced,), statuses=())
            touched = [r.work_order_id for r in uow.push_records.all()
                       if len(uow.work_orders.versions(r.work_order_id)) > 1]
        assert changed == []
        assert len(touched) >= 40  # every invoiced job got a new version, none a case
        assert run_audit(app).ok
