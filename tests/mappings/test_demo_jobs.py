from collections import Counter
from pathlib import Path

import pytest

from connectors.csv_drop import CsvDropSource
from mappings.company_tables import parse_mapping_tables
from mappings.csv_jobs import map_csv_job
from mappings.drafts import build_draft
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.decisions import Outcome
from workorders.drafts import InvoiceDraft
from workorders.rules import RuleSettings, evaluate
from workorders.work_order import JobType, WorkOrder

DEMO = Path(__file__).parents[2] / "closeout" / "demo"
TRIPPED = {  # job number: the one rule that stops it
    "1003": "sign_off_required", "1010": "sign_off_required", "1028": "sign_off_required",
    "1006": "line_items_priced", "1034": "line_items_priced",
    "1013": "approval_over_amount", "1042": "approval_over_amount",
    "1031": "has_billable_lines",
    "1016": "cancelled_no_invoice", "1045": "cancelled_no_invoice",
    "1058": "job_not_completed", "1060": "job_not_completed",
}
INVALID = {
    "csv:J20479": "northwind-2026-11-week1.csv row 62, column quantity: 'two' is not a number",
    "csv:J20512": "northwind-2026-11-week3.csv row 40, column customer_name: 'Harbor Point Apts.' disagrees with "
    "row 39 ('Harbor Point Apartments')",
}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, object]:
    """Every demo job through the chain: mapping, rules, draft; keyed by job id."""
    tables = parse_mapping_tables((DEMO / "mapping_tables.toml").read_text(encoding="utf-8"))
    results: dict[str, object] = {}
    for page in CsvDropSource(DEMO / "jobs").fetch_pages(cursor=None):
        for job in page.jobs:
            mapped = map_csv_job(job.payload, company="northwind", default_timezone="America/Chicago")
            if isinstance(mapped, Anomaly):
                results[f"csv:{job.external_id}"] = mapped
                continue
            evaluation = evaluate(mapped, RuleSettings(), run_id="demo")
            draft = build_draft(mapped, tables=tables, ledger="quickbooks") if evaluation.verdict == "ready" else None
            results[mapped.id] = (mapped, evaluation, draft)
    return results


def orders(outcomes) -> list[WorkOrder]:
    return [value[0] for value in outcomes.values() if isinstance(value, tuple)]


def test_the_demo_has_at_least_fifty_jobs_of_all_six_types_and_three_crews(outcomes):
    assert len(outcomes) >= 50
    assert {order.job_type for order in orders(outcomes)} == set(JobType)
    crews = {tech.crew for order in orders(outcomes) for tech in order.technicians}
    assert crews == {"Crew A — Dana Ruiz", "Crew B — Sam Okafor", "Crew C — Lee Nakamura"}


def test_exactly_the_intended_rows_are_invalid_source_payloads(outcomes):
    invalid = {key: value for key, value in outcomes.items() if isinstance(value, Anomaly)}
    assert {key: value.summary for key, value in invalid.items()} == INVALID
    assert all(value.code is AnomalyCode.source_payload_invalid for value in invalid.values())


def test_each_tripping_job_is_stopped_by_its_one_intended_rule_and_no_other_job_is(outcomes):
    stopped = {}
    for order, evaluation, _ in (value for value in outcomes.values() if isinstance(value, tuple)):
        failing = [d.rule_id for d in evaluation.decisions if d.outcome is not Outcome.passed]
        if failing:
            stopped[order.job_number] = failing
    assert stopped == {number: [rule_id] for number, rule_id in TRIPPED.items()}


def test_every_rule_is_tripped_at_least_once(outcomes):
    assert set(TRIPPED.values()) == {"sign_off_required", "line_items_priced", "approval_over_amount",
                                     "has_billable_lines", "cancelled_no_invoice", "job_not_completed"}


def test_the_approval_threshold_is_exercised_on_both_sides(outcomes):
    by_number = {order.job_number: order for order in orders(outcomes)}
    assert str(by_number["1048"].subtotal) == "5000.00"  # exactly at the threshold, no approval: passes
    assert by_number["1023"].subtotal > 5000 and any(a.kind == "amount" for a in by_number["1023"].approvals)


def test_one_ready_job_lacks_an_item_mapping_and_the_rest_become_invoices(outcomes):
    drafts = [value[2] for value in outcomes.values() if isinstance(value, tuple) and value[2] is not None]
    missing = [d for d in drafts if isinstance(d, Anomaly)]
    assert [(m.code, m.subject) for m in missing] == [(AnomalyCode.missing_mapping, "csv:J20499@v0:quickbooks")]
    assert missing[0].evidence["missing"][0]["key"] == "EQUIP-VRF-9"
    invoices = [d for d in drafts if isinstance(d, InvoiceDraft)]
    assert len(invoices) == 45
    assert len({d.doc_number for d in invoices}) == 45 and all(d.doc_number.startswith("NW-") for d in invoices)


def test_every_demo_job_ends_in_exactly_one_place(outcomes):
    places = Counter()
    for value in outcomes.values():
        if isinstance(value, Anomaly):
            places["case"] += 1
        elif value[1].verdict == "no_invoice":
            places["no_invoice"] += 1
        elif value[1].verdict == "blocked" or isinstance(value[2], Anomaly):
            places["case"] += 1
        else:
            places["invoice"] += 1
    assert places == {"invoice": 45, "case": 11, "no_invoice": 4}
    assert sum(places.values()) == len(outcomes) == 60


def test_the_demo_files_are_what_the_generator_writes(tmp_path):
    import runpy

    write_jobs = runpy.run_path(str(DEMO / "make_jobs.py"))["write_jobs"]
    for written in write_jobs(tmp_path):
        assert written.read_bytes() == (DEMO / "jobs" / written.name).read_bytes(), written.name
