"""The closeout command as a user runs it: demo, audit, cases, and clear errors for mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))


@dataclass
class Result:
    exit_code: int
    output: str


def invoke(*args: str) -> Result:
    """Run the installed command in a child process, as a user would, against the test's Prefect API."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run([CLOSEOUT, *args], capture_output=True, text=True, env=env, timeout=300)
    return Result(done.returncode, done.stdout + done.stderr)


@pytest.fixture
def prefect_url(prefect_api, monkeypatch):
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())


@pytest.fixture
def demo_workspace(prefect_url, workspace):
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    return result


def test_demo_prints_what_it_pulled_invoiced_and_queued_and_the_audit(demo_workspace):
    output = demo_workspace.output
    assert "jobs pulled" in output
    assert "Invoices created in the ledger" in output
    assert "Open cases for a coordinator" in output
    assert "all invariants hold" in output


def test_audit_json_after_the_demo_reports_no_duplicates_and_every_job_accounted_for(demo_workspace):
    result = invoke("audit", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["duplicates_in_ledger"] == []
    assert report["every_job_accounted_for"] is True
    assert report["invoices_pushed"] == report["ledger_invoices_found"] > 0
    assert report["jobs_seen"] == sum(report["accounted"].values())


def test_a_second_demo_adds_zero_invoices(demo_workspace):
    before = json.loads(invoke("audit", "--json").output)["ledger_invoices_found"]

    again = invoke("demo")

    assert again.exit_code == 0, again.output
    assert "No new invoices" in again.output
    assert json.loads(invoke("audit", "--json").output)["ledger_invoices_found"] == before


def test_cases_list_and_show_explain_each_open_case(demo_workspace):
    listed = json.loads(invoke("cases", "list", "--json").output)
    assert listed and all(case["status"] == "open" for case in listed)
    northwind = json.loads(invoke("cases", "list", "--company", "northwind", "--kind", "missing_mapping", "--json").output)
    assert northwind and all(case["company"] == "northwind" for case in northwind)
    missing = northwind[0]

    shown = invoke("cases", "show", str(missing["id"]))

    assert shown.exit_code == 0
    assert "EQUIP-VRF-9" in shown.output
    assert "add_mapping" in shown.output
    assert "opened" in shown.output


def test_showing_a_case_that_does_not_exist_is_one_clear_line_and_exit_code_2(workspace):
    result = invoke("cases", "show", "999")

    assert result.exit_code == 2
    assert "no case #999" in result.output
    assert "Traceback" not in result.output


def test_running_without_a_config_says_where_a_config_can_come_from(workspace):
    result = invoke("run")

    assert result.exit_code == 2
    assert "no config file" in result.output and "CLOSEOUT_CONFIG" in result.output
