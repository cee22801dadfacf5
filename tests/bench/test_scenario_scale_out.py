"""The scale-out scenario (7) at its tiny size: two real process workers push both ledgers' backlogs once each."""

from __future__ import annotations

import pytest

from bench.measure import REFUSALS, mark_refusals
from bench.scenario_scale_out import NAMES, SIZES, ScaleOut, measures, paced_seconds, run_scale_out
from services.push.pacing import LIMITS, token_bucket

pytestmark = [pytest.mark.postgres]


@pytest.mark.timeout(900)  # a Prefect server, two workers and four flow runs: a busy machine needs minutes
def test_two_process_workers_push_each_tiny_backlog_once_and_each_ledger_gets_its_measures_and_refusals():
    work = SIZES["tiny"]
    found, facts = run_scale_out(work)

    assert facts["run_states"] == {"Completed": 2 * work.runs_per_company}
    assert all(facts["runs_by_worker"].values()), f"a worker ran nothing: {facts['runs_by_worker']}"
    for kind, drafts in work.drafts.items():
        ledger = facts[kind]
        assert ledger["drafts"] == drafts and ledger["statuses"] == {"pushed": drafts}
        assert ledger["attempts"] == {1: drafts}  # each draft claimed once, over every run of both workers
        assert ledger["pushed_once"] == ledger["invoices"] == drafts
        assert ledger["duplicates"] == ledger["unknown"] == 0
        assert len(ledger["runs"]) == work.runs_per_company and ledger["ledger_calls"] >= 1
        mine = [m for m in found if m.scenario == NAMES[kind]]
        by_name = {m.measure: m for m in mine}
        assert by_name["push time (real s)"].value > 0 and by_name["push time (real s)"].reference is not None
        assert by_name["push time (real s)"].target == ">= 0.85"
        assert by_name["drafts pushed exactly once (invoices by doc number)"].met is True
        assert by_name[REFUSALS].value == sum(e["calls"] for e in facts["refused"]
                                              if e["system"].startswith("qbo" if kind == "quickbooks" else "xero"))
    assert facts["refused"] == []


def test_a_refusal_on_one_ledger_marks_only_that_ledgers_targets_not_met():
    work = ScaleOut(drafts={"quickbooks": 3_630, "xero": 6_050}, customers=1, time_scale=3, runs_per_company=1,
                    runs_per_worker=1, in_flight={"quickbooks": 1, "xero": 1})
    facts = {"drafts": 0, "statuses": {"pushed": 0}, "pushed_once": 0, "duplicates": 0, "unknown": 0,
             "ledger_calls": 0, "push_seconds": 80.0, "runs": {}, "workers": {}}
    refused = [{"system": "xero", "company": "org", "problem": "minute", "calls": 3}]
    qbo = measures(work, "quickbooks", {**facts, "drafts": 3_630, "pushed_once": 3_630}, refused)
    xero = measures(work, "xero", {**facts, "drafts": 6_050, "pushed_once": 6_050, "push_seconds": 40.0}, refused)

    marked = {(m.scenario, m.measure): m for m in mark_refusals(qbo + xero)}

    assert marked[(NAMES["quickbooks"], REFUSALS)].value == 0
    assert marked[(NAMES["xero"], REFUSALS)].value == 3
    assert marked[(NAMES["quickbooks"], "push time (real s)")].reference == 60.0  # 121 batches: 180 ledger s / 3
    assert marked[(NAMES["xero"], "push time (real s)")].reference == 40.0  # 121 calls: 120 ledger s / 3
    assert [m.met for m in qbo if m.target] == [False, True, True]  # 60 / 80 < 0.85; pushed once; no refusal
    assert all(m.met is False for m in marked.values() if m.scenario == NAMES["xero"] and m.target)


def test_the_shared_limits_pace_is_the_token_buckets_of_the_prefect_global_limits():
    # one call at once, then each bucket's refill: QBO's batch bucket binds batch calls, Xero's per-minute one
    (_, qbo_batch), (_, xero) = token_bucket(LIMITS["quickbooks"].batch_windows, 3.0), token_bucket(LIMITS["xero"].windows, 3.0)
    assert paced_seconds("quickbooks", 1, 3.0) == 0.0
    assert paced_seconds("quickbooks", 81, 3.0) == pytest.approx(80 / qbo_batch)
    assert paced_seconds("xero", 61, 3.0) == pytest.approx(60 / xero)
    assert 400 / paced_seconds("quickbooks", 401, 3.0) > 0.9 * 40 / 20  # a long backlog: over 0.9 of 40 a ledger minute
