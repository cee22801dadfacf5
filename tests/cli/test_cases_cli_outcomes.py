"""What the queue's record says after a decision, on the demo: a refused replay reads as a refusal, the refusal's
case closes itself once the job is invoiced, and a linked email leaves every job accounted for."""

from __future__ import annotations

import json

from storage import open_store


def case_of(closeout, kind: str, words: str = "") -> dict:
    listed = closeout("cases", "list", "--kind", kind, "--json")
    assert listed.exit_code == 0, listed.output
    return next(case for case in json.loads(listed.stdout) if words in case["summary"])


def a_wrong_item_code_for_equip_vrf_9(closeout) -> None:
    """A mapping entry the ledger does not have, stored without the check a decision makes (as an entry of a
    hand-edited mapping file would be): QuickBooks refuses the invoice that uses it."""
    store = open_store(closeout.store_url())
    try:
        with store.unit_of_work() as uow:
            uow.mapping_overrides.put(company="northwind", table="items", key="EQUIP-VRF-9", value="99", actor="test")
            uow.commit()
    finally:
        store.close()


def test_a_replay_the_ledger_refuses_says_so_and_exits_1(closeout):
    a_wrong_item_code_for_equip_vrf_9(closeout)
    case = case_of(closeout, "missing_mapping", "EQUIP-VRF-9")

    text = closeout("cases", "replay", str(case["id"]))
    as_json = closeout("cases", "replay", str(case["id"]), "--json")

    assert text.exit_code == 1, text.output
    assert "not cleared" in text.lines[0] and "Invalid Reference Id" in text.lines[0], text.output
    assert "resolved" not in text.lines[0]
    assert as_json.exit_code == 1, as_json.output
    replay = json.loads(as_json.stdout)
    assert (replay["outcome"], replay["resolved"]) == ("push_rejected", False)


def test_a_ledger_rejected_case_closes_itself_saying_why_once_the_job_is_invoiced(closeout):
    a_wrong_item_code_for_equip_vrf_9(closeout)
    mapping = case_of(closeout, "missing_mapping", "EQUIP-VRF-9")
    assert closeout("cases", "replay", str(mapping["id"])).exit_code == 1
    rejected = case_of(closeout, "ledger_rejected", "NW-1039")

    fixed = closeout("cases", "add_mapping", str(mapping["id"]), "items", "EQUIP-VRF-9", "2")

    assert fixed.exit_code == 0, fixed.output
    after = json.loads(closeout("cases", "show", str(rejected["id"]), "--json").stdout)
    assert after["status"] == "resolved"
    last = after["history"][-1]
    assert (last["actor"], last["action"]) == ("closeout", "auto_resolved")
    assert "invoice NW-1039" in last["note"] and "no longer stands" in last["note"]
    assert closeout("cases", "list", "--kind", "ledger_rejected", "--json").stdout.strip() == "[]"
    assert closeout("audit").exit_code == 0


def test_the_audit_accounts_for_every_job_right_after_an_email_is_linked_to_one(closeout):
    email = case_of(closeout, "unmatched_email", "Candidates")

    linked = closeout("cases", "link", str(email["id"]), "1037")
    audit = closeout("audit", "--json")

    assert linked.exit_code == 0, linked.output
    assert audit.exit_code == 0, audit.output
    report = json.loads(audit.stdout)
    assert report["unaccounted"] == [] and report["every_job_accounted_for"] is True
    assert report["jobs_seen"] == sum(report["accounted"].values())
