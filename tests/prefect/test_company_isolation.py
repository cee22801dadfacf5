"""One company's unreachable ledger or source never stops another: a case, a line, exit 2, the others done."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from closeout.settings import Settings
from closeout.workspace import install_demo_config
from storage import open_store
from workorders.push import PushStatus

# Northwind's ledger becomes a real (non-sandbox) QuickBooks company whose credentials were never set, and it
# gains a Jobber source without its secrets: both fail at once, with no retry to wait out.
NORTHWIND_LEDGER = 'api_url = "sandbox"          # the local ledger sandbox in the workspace; put Intuit\'s API root here for real'
NORTHWIND_JOBBER = '''
[[companies.sources]]
kind = "jobber"
name = "jobber"
api_url = "http://127.0.0.1:9"
'''


def _config_with_a_broken_northwind(home):
    config = install_demo_config(home)
    text = config.read_text(encoding="utf-8")
    assert NORTHWIND_LEDGER in text
    text = text.replace(NORTHWIND_LEDGER, 'api_url = "http://127.0.0.1:9/v3"\ntoken_url = "http://127.0.0.1:9/token"', 1)
    first_mailbox = text.index("[[companies.mailboxes]]")  # northwind's, after its CSV source
    config.write_text(text[:first_mailbox] + NORTHWIND_JOBBER.lstrip() + "\n" + text[first_mailbox:], encoding="utf-8")
    return config


def test_a_company_whose_ledger_and_source_cannot_be_used_gets_cases_and_exit_2_while_the_other_is_invoiced(
        prefect_api, workspace):
    from prefect.settings import get_current_settings

    config = _config_with_a_broken_northwind(Settings().resolved_home())
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLOSEOUT_QBO_")
                   and not k.startswith("CLOSEOUT_JOBBER_")}
    environment.update(PREFECT_API_URL=str(get_current_settings().api.url), COLUMNS="300")

    done = subprocess.run([str(Path(sys.executable).with_name("closeout")), "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env=environment)

    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    assert "could not run: northwind ledger quickbooks: MissingSecretError" in done.stdout
    assert "could not run: northwind source jobber: MissingSecretError" in done.stdout
    assert "2 company step(s) could not run" in done.stdout
    assert "Invoices created in the ledger" in done.stdout  # the other company's work is shown
    with open_store(Settings().store_url()) as store, store.unit_of_work() as uow:
        pushed = uow.push_records.all(status=PushStatus.pushed)
        ready = uow.push_records.all(status=PushStatus.ready)
        cases = {case.subject: case for case in uow.cases.list() if case.kind.value == "connection_failed"}
    assert pushed and {record.company for record in pushed} == {"harbour"}  # the other company went on
    assert ready and {record.company for record in ready} == {"northwind"}  # kept for the next run
    assert set(cases) == {"health:northwind/ledger:quickbooks", "health:northwind/source:jobber"}
    assert all(case.is_open and case.company == "northwind" for case in cases.values())
    assert "the other companies went on" in cases["health:northwind/ledger:quickbooks"].summary


def test_the_failed_run_is_failed_on_the_dashboard_and_its_summary_names_what_could_not_run(
        prefect_api, workspace, monkeypatch):
    from prefect.artifacts import Artifact

    from flows.pipeline import closeout_pipeline
    from services.outages import CompaniesFailedError

    monkeypatch.delenv("CLOSEOUT_QBO_CLIENT_ID_NORTHWIND", raising=False)
    config = _config_with_a_broken_northwind(Settings().resolved_home())

    state = closeout_pipeline(config_path=str(config), return_state=True)

    assert state.is_failed() and "2 company step(s) could not run" in state.message
    failed = state.result(raise_on_failure=False)
    assert isinstance(failed, CompaniesFailedError) and failed.counts.pushed > 0
    rows = Artifact.get("closeout-run-summary").data
    summary = {row["measure"]: row["value"] for row in (json.loads(rows) if isinstance(rows, str) else rows)}
    assert summary["FAILED: northwind ledger quickbooks"].startswith("MissingSecretError: no qbo-client-id")
    assert summary["invoices pushed"] == str(failed.counts.pushed)
