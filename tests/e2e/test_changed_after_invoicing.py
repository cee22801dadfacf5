"""The demo run again after an invoiced job was touched, then repriced: only the billable change opens a case."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from closeout.settings import BUNDLED_DEMO_CONFIG, Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind
from workorders.decisions import Outcome
from workorders.push import PushStatus

pytestmark = pytest.mark.e2e

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))
JOB = "csv:J20461"


@pytest.fixture
def demo_on_own_csv(prefect_api, workspace, tmp_path, monkeypatch) -> tuple[Path, Path]:
    """``(config, jobs)``: the demo config reading a private copy of the demo CSV files, which a test may edit."""
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    config = install_demo_config(Settings().resolved_home())
    jobs = shutil.copytree(BUNDLED_DEMO_CONFIG.parent / "jobs", tmp_path / "jobs")
    bundled = f'path = "{BUNDLED_DEMO_CONFIG.parent / "jobs"}"'
    text = config.read_text(encoding="utf-8")
    assert bundled in text
    config.write_text(text.replace(bundled, f'path = "{jobs}"'), encoding="utf-8")
    return config, jobs


def run(config: Path) -> None:
    """``closeout run`` in a child process: Prefect's logging in this process would break later tests."""
    done = subprocess.run([CLOSEOUT, "run", "--config", str(config)], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def edit_job(jobs: Path, job_id: str, **cells: str | tuple[str, str]) -> None:
    """Change columns on every row of one job; a ``(description, value)`` pair changes only that line's row."""
    for path in sorted(jobs.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if not any(row["job_id"] == job_id for row in rows):
            continue
        for row in rows:
            if row["job_id"] != job_id:
                continue
            for column, value in cells.items():
                if isinstance(value, tuple):
                    if row["description"] == value[0]:
                        row[column] = value[1]
                else:
                    row[column] = value
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def test_a_touched_invoiced_job_opens_no_case_and_a_repriced_one_opens_it_with_the_diff(demo_on_own_csv):
    config, jobs = demo_on_own_csv
    run(config)
    with open_app(config_path=config) as app, app.store.unit_of_work() as uow:
        (invoiced,) = [r for r in uow.push_records.for_work_order(JOB) if r.status is PushStatus.pushed]
        first = uow.work_orders.get(JOB)

    edit_job(jobs, "J20461", updated_at="2026-11-05T09:00:00-06:00")
    run(config)

    with open_app(config_path=config) as app, app.store.unit_of_work() as uow:
        touched = uow.work_orders.get(JOB)
        decisions = uow.decisions.for_work_order(JOB, touched.version)
        cases = uow.cases.list(work_order_id=JOB, kinds=[CaseKind.changed_after_invoiced], statuses=())
        records = uow.push_records.for_work_order(JOB)
    assert touched.version > first.version
    assert cases == []
    assert [(r.work_order_version, r.status) for r in records] == [(invoiced.work_order_version, PushStatus.pushed)]
    (decision,) = [d for d in decisions if d.rule_id == "not_invoiced_before"]
    assert decision.outcome is Outcome.no_invoice and decision.evidence["decision"] == "invoice_unchanged"
    explained = subprocess.run([CLOSEOUT, "explain", "1001"], capture_output=True,
                               text=True, env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}, timeout=300)
    assert explained.returncode == 0, explained.stdout + explained.stderr
    assert "changed after invoicing; the invoice is unchanged" in explained.stdout
    assert "invoice_unchanged" in explained.stdout

    edit_job(jobs, "J20461", updated_at="2026-11-06T09:00:00-06:00", unit_price=("Trip charge", "99.00"))
    run(config)

    with open_app(config_path=config) as app, app.store.unit_of_work() as uow:
        repriced = uow.work_orders.get(JOB)
        (case,) = uow.cases.list(work_order_id=JOB, kinds=[CaseKind.changed_after_invoiced])
        records = uow.push_records.for_work_order(JOB)
    assert repriced.version > touched.version and case.work_order_version == repriced.version
    assert [r.work_order_version for r in records] == [invoiced.work_order_version]
    evidence = case.evidence["decisions"][0]["evidence"]
    assert evidence["decision"] == "invoice_changed"
    before, after = invoiced.draft.total, invoiced.draft.total + 10
    assert evidence["changes"]["diff"] == [
        "changed line 'Trip charge': unit_price 89.00 -> 99.00; amount 89.00 -> 99.00", f"total {before} -> {after}"]
