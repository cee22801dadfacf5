"""The ledger and quiet-day benchmark scenarios and the runner, at a tiny size: they still work (no timing asserted)."""

from __future__ import annotations

import json

import pytest

from bench import run as runner
from bench.ledger_bench import ideal_seconds, run_workload
from bench.ledger_bench import measures as ledger_measures
from bench.measure import REFUSALS, Measure, mark_refusals, refusals_measure
from bench.scenario_qbo_backlog import SIZES as QBO_SIZES
from bench.scenario_xero_backlog import SIZES as XERO_SIZES


@pytest.mark.parametrize("sizes", [QBO_SIZES, XERO_SIZES], ids=["quickbooks", "xero"])
def test_a_tiny_backlog_is_pushed_once_per_draft_in_full_batches_and_the_baseline_pushes_its_sample(sizes):
    work = sizes["tiny"]
    measures, facts = run_workload(work)

    assert facts["pushed"] == work.drafts and facts["statuses"] == {"pushed": work.drafts}
    assert facts["ledger_invoices"] == work.drafts and not facts["duplicate_doc_numbers"]
    batch = 30 if work.kind == "quickbooks" else 50
    assert facts["ledger_calls"] <= -(-work.drafts // batch) + 1  # full batches, one page of customers
    assert facts["naive_invoices"] == work.baseline_drafts and facts["naive_calls"] == 2 * work.baseline_drafts
    assert [m.measure for m in measures][:4] == ["push time (real s)", "ledger calls per invoice",
                                                 "throughput (invoices per ledger minute)",
                                                 "throughput vs the naive pattern's ceiling"]
    assert measures[-1].measure == REFUSALS and measures[-1].value == len(facts["refused"]) == 0
    assert all(m.scenario == work.scenario and m.value > 0 and m.reference is not None for m in measures[:-1])


def test_the_ideal_time_follows_the_sandboxs_windows():
    assert ideal_seconds("quickbooks", 40) == 3.0  # 10 a second
    assert ideal_seconds("quickbooks", 41) == 60.0  # the 41st batch call waits for the batch minute
    assert ideal_seconds("quickbooks", 600, batch=False) == 69.0  # 500 a minute, 10 a second
    assert ideal_seconds("xero", 200) == 180.0  # 60 a minute


def test_the_xero_backlog_is_also_measured_against_the_ideal_at_100_invoices_a_call_and_qbo_is_not():
    xero = XERO_SIZES["full"]  # 10,000 drafts: 100 calls of 100, the 61st waits a ledger minute (20 s at scale 3)
    found = ledger_measures(xero, xero.drafts, 62.0, 202, 30.0, 180)
    at_100 = next(m for m in found if "100 invoices a call" in m.measure)
    assert at_100.reference == 20.0 and at_100.ratio == round(20.0 / 62.0, 3) and at_100.met is None
    assert found[0].reference == 60.0  # 200 calls of 50
    assert not any("100 invoices a call" in m.measure for m in ledger_measures(QBO_SIZES["full"], 10, 1.0, 1, 1.0, 2))


def test_a_scenario_with_a_refused_call_has_every_target_marked_not_met():
    refused = refusals_measure("s", [{"system": "xero", "company": "org", "problem": "minute", "calls": 2}])
    met = Measure("s", "push time (real s)", 1.0, "s", 1.0, "ideal", 1.0, ">= 0.85", True)
    informative = Measure("s", "wall time", 1.0, "s", None, "", None, "", None)
    other = Measure("t", "push time (real s)", 1.0, "s", 1.0, "ideal", 1.0, ">= 0.85", True)

    marked = mark_refusals([met, informative, refused, other])

    assert [m.met for m in marked] == [False, None, False, True]
    assert refused.value == 2 and "org xero minute: 2" in refused.reference_label


def test_the_runner_prints_one_table_and_writes_the_numbers_and_latest_json(tmp_path, capsys):
    code = runner.main(["--size", "tiny", "--only", "qbo_backlog", "--results", str(tmp_path)])

    latest = json.loads((tmp_path / "latest.json").read_text())
    assert code == 0 and "Closeout benchmarks (tiny)" in capsys.readouterr().out
    assert [run["scenario"] for run in latest["scenarios"]] == ["qbo_backlog"]
    assert len(latest["measures"]) == 5 and {"cpu", "cores", "python", "commit"} <= set(latest["machine"])
    assert latest["scenarios"][0]["refused"] == 0
    assert len(list(tmp_path.glob("2*.json"))) == 1


def test_a_quiet_day_run_makes_no_ledger_call_and_one_request_per_api_stream(prefect_api):
    from bench.scenario_quiet_day import run

    measures = {m.measure: m for m in run("tiny")}

    assert measures["ledger calls"].value == 0 and measures["ledger calls"].met
    assert measures["Jobber requests"].met and measures["new or changed payloads"].value == 0
    assert measures["invoices pushed"].value == 0 and measures["invoices pushed"].reference > 0
