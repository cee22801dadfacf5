"""`closeout cases ...` on the demo: every name given is checked (one line, exit 2), and every decision `cases show`
offers is a command of the same name as the case page's and the JSON API's decision."""

from __future__ import annotations

import json

import pytest

PASSWORD = "a long enough password\n"


def case_of(closeout, kind: str, words: str = "") -> dict:
    """The demo's open case of this kind whose summary says ``words``."""
    listed = closeout("cases", "list", "--kind", kind, "--json")
    assert listed.exit_code == 0, listed.output
    return next(case for case in json.loads(listed.stdout) if words in case["summary"])


def shown(closeout, case_id: int) -> dict:
    ran = closeout("cases", "show", str(case_id), "--json")
    assert ran.exit_code == 0, ran.output
    return json.loads(ran.stdout)


def refused_in_one_line(ran, *words: str) -> None:
    assert ran.exit_code == 2, ran.output
    assert len(ran.lines) == 1, ran.output
    assert "Traceback" not in ran.output
    assert all(word in ran.lines[0] for word in words), ran.output


def test_a_case_assigned_to_a_user_who_does_not_exist_is_refused_and_left_as_it_was(closeout):
    case = case_of(closeout, "rule_blocked", "Job 1006")

    refused_in_one_line(closeout("cases", "assign", str(case["id"]), "ghost"), "ghost")

    after = shown(closeout, case["id"])
    assert (after["assignee"], after["status"], len(after["history"])) == (None, "open", 1)


def test_as_must_name_a_user_of_the_store_and_then_the_history_names_them(closeout):
    case = case_of(closeout, "rule_blocked", "Job 1006")
    refused_in_one_line(closeout("cases", "resolve", str(case["id"]), "-m", "called the tech", "--as", "ghost"),
                        "ghost")
    assert closeout("users", "add", "dana", "--password-stdin", stdin=PASSWORD).exit_code == 0

    done = closeout("cases", "assign", str(case["id"]), "Dana", "--as", "dana", "--json")

    assert done.exit_code == 0, done.output
    assigned = json.loads(done.stdout)
    assert (assigned["assignee"], assigned["history"][-1]["actor"]) == ("dana", "dana")


def test_a_viewer_cannot_be_given_a_case(closeout):
    case = case_of(closeout, "rule_blocked", "Job 1006")
    assert closeout("users", "add", "vic", "--role", "viewer", "--password-stdin", stdin=PASSWORD).exit_code == 0

    refused_in_one_line(closeout("cases", "assign", str(case["id"]), "vic"), "vic", "viewer")


def test_listing_the_cases_of_an_unknown_company_exits_2_naming_it(closeout):
    refused_in_one_line(closeout("cases", "list", "--company", "nope"), "nope")

    harbour = closeout("cases", "list", "--company", "harbour", "--json")
    assert harbour.exit_code == 0, harbour.output
    assert {case["company"] for case in json.loads(harbour.stdout)} == {"harbour"}


def test_a_case_or_job_that_does_not_exist_is_one_line_and_exit_2(closeout):
    email = case_of(closeout, "unmatched_email", "Candidates")

    refused_in_one_line(closeout("cases", "link", str(email["id"]), "9999"), "9999")
    refused_in_one_line(closeout("cases", "resolve", "999"), "#999")
    assert shown(closeout, email["id"])["status"] == "open"


@pytest.mark.parametrize("kind, words", [("missing_mapping", "EQUIP-VRF-9"), ("rule_blocked", "Job 1042"),
                                         ("unmatched_email", "Candidates"), ("tax_mismatch", "")])
def test_each_decision_cases_show_offers_is_a_cases_command_of_that_name(closeout, kind, words):
    case = case_of(closeout, kind, words)
    text = closeout("cases", "show", str(case["id"]))
    decide = next(line for line in text.lines if line.strip().startswith("decide:"))
    offered = [name.strip() for name in decide.split(":", 1)[1].split("(")[0].split(",")]

    assert offered and {"resolve", "ignore", "assign"} <= set(offered)
    for name in offered:
        helped = closeout("cases", name, "--help")
        assert helped.exit_code == 0, f"`cases show` offers {name!r}, which is no command: {helped.output}"


def test_the_mapping_decision_on_the_command_line_stores_the_entry_and_invoices_the_job(closeout):
    case = case_of(closeout, "missing_mapping", "EQUIP-VRF-9")
    assert closeout("users", "add", "dana", "--password-stdin", stdin=PASSWORD).exit_code == 0

    done = closeout("cases", "add_mapping", str(case["id"]), "items", "EQUIP-VRF-9", "2", "--as", "dana")

    assert done.exit_code == 0, done.output
    assert "resolved" in done.lines[0] and "created in quickbooks" in done.lines[0], done.output
    history = shown(closeout, case["id"])["history"]
    added = next(entry for entry in history if entry["action"] == "mapping_added")
    assert (added["actor"], added["after"]) == ("dana", {"items[EQUIP-VRF-9]": "2"})


def test_an_override_approved_on_the_command_line_lets_the_replay_invoice_the_blocked_job(closeout):
    case = case_of(closeout, "rule_blocked", "Job 1042")
    refused_in_one_line(closeout("cases", "approve_override", str(case["id"])), "reason")

    approved = closeout("cases", "approve_override", str(case["id"]), "-m", "PO 4471 covers it, per Sam")
    replayed = closeout("cases", "replay", str(case["id"]))

    assert approved.exit_code == 0, approved.output
    assert "override_approved: PO 4471 covers it, per Sam" in approved.output
    assert replayed.exit_code == 0, replayed.output
    assert "resolved" in replayed.lines[0] and "created in quickbooks" in replayed.lines[0], replayed.output
    explained = closeout("explain", "1042")
    assert explained.exit_code == 0, explained.output
    assert f"case #{case['id']}: override of approval_over_amount approved by" in explained.output
    assert "PO 4471 covers it, per Sam" in explained.output
    assert explained.output.count("Rule decisions on version 1") == 1, explained.output
    assert "1 earlier evaluation(s) of version 1" in explained.output


def test_the_old_command_names_still_work_for_scripts(closeout):
    email = case_of(closeout, "unmatched_email", "Candidates")

    linked = closeout("cases", "link", str(email["id"]), "1037", "--json")

    assert linked.exit_code == 0, linked.output
    assert json.loads(linked.stdout)["status"] == "resolved"
