from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.csv_drop import CsvDropSource
from mappings.csv_drop import map_csv_job
from mappings.drafts import build_draft
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.decisions import Outcome
from workorders.drafts import InvoiceDraft
from closeout.config import load_config
from workorders.rules import RuleContext, evaluate
from workorders.work_order import JobType, WorkOrder

DEMO = Path(__file__).parents[2] / "closeout" / "demo"
TRIPPED = {  # job number: the one rule that stops it, warns about it or transforms it
    "1003": "sign_off_required", "1010": "sign_off_required", "1028": "sign_off_required",
    "1006": "line_items_priced", "1034": "line_items_priced",
    "1013": "approval_over_amount", "1042": "approval_over_amount",
    "1056": "has_billable_lines", "1031": "no_charge_no_invoice",
    "1016": "cancelled_no_invoice", "1045": "cancelled_no_invoice",
    "1058": "job_not_completed", "1060": "job_not_completed",
    "1008": "labour_from_time_entries", "1041": "labour_from_time_entries",
    "1021": "job_note_present", "1026": "duplicate_job", "1036": "photos_before_after",
    "1050": "billing_email_present", "1054": "part_below_cost",
}
NOT_IN_THE_DEMO = {"not_invoiced_before", "parts_have_item_codes", "change_requests_approved",
                   "currency_matches_ledger", "no_formula_text",
                   "invoiced_elsewhere"}  # covered by tests/rules (and the demo with a cutover: tests/e2e)
INVALID = {
    "csv:J20479": "northwind-2026-11-week1.csv row 62, column quantity: 'two' is not a number",
    "csv:J20512": "northwind-2026-11-week3.csv row 38, column customer_name: 'Harbor Point Apts.' disagrees with "
    "row 37 ('Harbor Point Apartments')",
}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, object]:
    """Every demo job through the chain: mapping, rules, draft; keyed by job id."""
    company = load_config(DEMO / "closeout.toml").company("northwind")
    results: dict[str, object] = {}
    mapped_orders = []
    for page in CsvDropSource(DEMO / "jobs").fetch_pages(cursor=None):
        for job in page.jobs:
            mapped = map_csv_job(job.payload, company="northwind", default_timezone="America/Chicago")
            if isinstance(mapped, Anomaly):
                results[f"csv:{job.external_id}"] = mapped
            else:
                mapped_orders.append(mapped)
    for mapped in mapped_orders:  # every other job is a possible duplicate: the store's net is only narrower
        others = tuple(other for other in mapped_orders if other.id != mapped.id)
        context = RuleContext(ledger_currency=company.currency, possible_duplicates=others)
        evaluation = evaluate(mapped, company.rules, run_id="demo", context=context)
        draft = (build_draft(evaluation.order, tables=company.mappings, ledger="quickbooks")
                 if evaluation.verdict == "ready" else None)
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


def test_each_special_job_trips_its_one_intended_rule_and_no_other_job_trips_any(outcomes):
    stopped = {}
    for order, evaluation, _ in (value for value in outcomes.values() if isinstance(value, tuple)):
        failing = [d.rule_id for d in evaluation.decisions if d.outcome is not Outcome.passed]
        if failing:
            stopped[order.job_number] = failing
    assert stopped == {number: [rule_id] for number, rule_id in TRIPPED.items()}


def test_every_rule_but_the_named_few_is_tripped_at_least_once(outcomes):
    from workorders.rules import DEFAULT_RULES

    assert set(TRIPPED.values()) == {r.id for r in DEFAULT_RULES} - NOT_IN_THE_DEMO


def test_recorded_time_is_billed_from_the_rate_card_in_the_draft(outcomes):
    order, evaluation, draft = outcomes["csv:J20501"]
    assert order.job_number == "1041" and not [ln for ln in order.line_items if ln.kind.value == "labour"]
    (transform,) = [d for d in evaluation.decisions if d.outcome is Outcome.transform]
    assert transform.reason == "billed 1.25 h at 125.00 from 1 time entry"
    assert transform.evidence["before"]["time_entries"][0]["hours"] == "1.1167"
    labour = [line for line in draft.lines if line.kind == "labour"]
    assert [(str(ln.quantity), str(ln.unit_price), ln.item_ref) for ln in labour] == [("1.25", "125.00", "1")]
    assert draft.total == evaluation.order.subtotal == order.subtotal + Decimal("156.25")


def test_the_approval_threshold_is_exercised_on_both_sides(outcomes):
    by_number = {order.job_number: order for order in orders(outcomes)}
    assert str(by_number["1048"].subtotal) == "5000.00"  # exactly at the threshold, no approval: passes
    assert by_number["1023"].subtotal > 5000 and any(a.kind == "amount" for a in by_number["1023"].approvals)


def test_one_ready_job_lacks_an_item_mapping_and_the_rest_become_invoices(outcomes):
    drafts = [value[2] for value in outcomes.values() if isinstance(value, tuple) and value[2] is not None]
    missing = [d for d in drafts if isinstance(d, Anomaly)]
    assert [(m.code, m.subject) for m in missing] == [(AnomalyCode.missing_mapping, "csv:J20499@v0:quickbooks")]
    assert missing[0].suggested_actions == ("add_mapping",)
    assert missing[0].evidence["missing"][0]["key"] == "EQUIP-VRF-9"
    invoices = [d for d in drafts if isinstance(d, InvoiceDraft)]
    assert len(invoices) == 39
    assert len({d.doc_number for d in invoices}) == 39 and all(d.doc_number.startswith("NW-") for d in invoices)


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
    assert places == {"invoice": 39, "case": 16, "no_invoice": 5}
    assert sum(places.values()) == len(outcomes) == 60


def test_the_demo_files_are_what_the_generator_writes(tmp_path):
    import runpy

    write_jobs = runpy.run_path(str(DEMO / "make_jobs.py"))["write_jobs"]
    for written in write_jobs(tmp_path):
        assert written.read_bytes() == (DEMO / "jobs" / written.name).read_bytes(), written.name
