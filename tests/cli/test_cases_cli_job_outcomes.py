"""`closeout cases resolve --outcome` on the demo's job 1021 (blocked: no job note): a plain resolve is refused, and
each outcome ends the job truthfully in the ledger, in `closeout explain` and in the audit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from closeout.demo.corrections_day import copy_demo_jobs, job_file

JOB = "1021"
JOB_ID = "J20481"


def case_of_1021(closeout) -> int:
    listed = closeout("cases", "list", "--kind", "rule_blocked", "--json")
    assert listed.exit_code == 0, listed.output
    return next(case["id"] for case in json.loads(listed.stdout) if f"Job {JOB} " in case["summary"])


def explained(closeout) -> dict:
    ran = closeout("explain", JOB, "--json")
    assert ran.exit_code == 0, ran.output
    return json.loads(ran.stdout)


def invoices_of_1021(closeout) -> list[dict]:
    return [d for d in explained(closeout)["drafts"] if d["status"] == "pushed"]


def the_source_adds_a_job_note(home: Path) -> None:
    """The field system gets the missing note: the job's CSV rows carry it, with a later updated_at."""
    copy_demo_jobs(home, home / "closeout.toml")
    path = job_file(home / "demo-jobs" / "jobs", JOB_ID)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns, rows = list(reader.fieldnames or []), list(reader)
    for row in rows:
        if row["job_id"] == JOB_ID:
            row["notes"] = "Replaced the flame sensor; the burner lights first time."
            row["updated_at"] = "2026-11-10T08:00:00-06:00"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def test_resolving_a_blocked_jobs_case_without_an_outcome_is_one_line_naming_the_three_and_exit_2(closeout):
    case = case_of_1021(closeout)

    ran = closeout("cases", "resolve", str(case), "-m", "called the tech")

    assert ran.exit_code == 2, ran.output
    assert len(ran.lines) == 1 and "Traceback" not in ran.output, ran.output
    assert all(name in ran.lines[0] for name in ("invoice_anyway", "bill_nothing", "wait")), ran.output
    shown = json.loads(closeout("cases", "show", str(case), "--json").stdout)
    assert shown["status"] == "open" and len(shown["history"]) == 1


def test_bill_nothing_sends_no_invoice_explain_says_not_billed_with_the_reason_and_the_audit_passes(closeout):
    case = case_of_1021(closeout)
    before = json.loads(closeout("audit", "--json").stdout)["accounted"]

    decided = closeout("cases", "resolve", str(case), "--outcome", "bill_nothing", "-m", "warranty callback")
    ran = closeout("run")

    assert decided.exit_code == 0, decided.output
    assert ran.exit_code == 0, ran.output
    assert invoices_of_1021(closeout) == [] and explained(closeout)["drafts"] == []
    job = explained(closeout)
    assert job["ending"].startswith("not billed: warranty callback (")
    assert [(o["outcome"], o["reason"]) for o in job["outcomes"]] == [("bill_nothing", "warranty callback")]
    text = closeout("explain", JOB)
    assert "ended in:  not billed: warranty callback" in text.stdout, text.output
    audit = closeout("audit", "--json")
    assert audit.exit_code == 0, audit.output
    after = json.loads(audit.stdout)["accounted"]
    assert (after["no_invoice"], after["case"]) == (before["no_invoice"] + 1, before["case"] - 1)


def test_invoice_anyway_is_invoiced_once_by_the_next_runs(closeout):
    case = case_of_1021(closeout)

    decided = closeout("cases", "resolve", str(case), "--outcome", "invoice_anyway", "-m",
                       "the note is on the paper sheet")
    first, second = closeout("run"), closeout("run")

    assert decided.exit_code == 0, decided.output
    assert "the next run sends invoice NW-1021" in decided.lines[0], decided.output
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    (invoice,) = invoices_of_1021(closeout)
    assert invoice["doc_number"] == "NW-1021" and invoice["ledger_id"]
    job = explained(closeout)
    assert "pushed" in job["ending"]
    assert [o["reason"] for o in job["overrides"]] == ["the note is on the paper sheet"]
    assert [o["outcome"] for o in job["outcomes"]] == ["invoice_anyway"]
    audit = closeout("audit")
    assert audit.exit_code == 0, audit.output


def test_wait_keeps_the_case_open_and_the_sources_new_version_is_judged_again(closeout):
    case = case_of_1021(closeout)

    decided = closeout("cases", "resolve", str(case), "--outcome", "wait", "-m", "the tech adds the note")
    still = json.loads(closeout("cases", "show", str(case), "--json").stdout)
    the_source_adds_a_job_note(closeout.home)
    ran = closeout("run")

    assert decided.exit_code == 0, decided.output
    assert still["status"] == "open" and "waiting for source" in still["tags"]
    assert ran.exit_code == 0, ran.output
    job = explained(closeout)
    assert [v["version"] for v in job["versions"]] == [1, 2] and "2" in job["decisions"]
    cleared = json.loads(closeout("cases", "show", str(case), "--json").stdout)
    assert cleared["status"] == "resolved" and cleared["history"][-1]["action"] == "auto_resolved"
    assert [d["work_order_version"] for d in invoices_of_1021(closeout)] == [2]
    assert closeout("audit").exit_code == 0
