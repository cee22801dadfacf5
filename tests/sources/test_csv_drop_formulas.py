"""Cells a spreadsheet would run as formulas, read from a CSV drop, stop at a rule before the ledger."""

from __future__ import annotations

import pytest

from connectors.csv_drop import CsvDropSource
from csv_drop_files import csv_text, fetch, job_values
from mappings.csv_drop import map_csv_job
from workorders.decisions import Outcome
from workorders.rules import RuleSettings, evaluate
from workorders.work_order import WorkOrder


def formula_decision(tmp_path, rows):
    (tmp_path / "jobs.csv").write_text(csv_text(rows), encoding="utf-8")
    (job,) = fetch(CsvDropSource(tmp_path))[0]
    order = map_csv_job(job.payload, company="acme", default_timezone="America/Chicago")
    assert isinstance(order, WorkOrder), order
    return next(d for d in evaluate(order, RuleSettings(), run_id="r").decisions if d.rule_id == "no_formula_text")


@pytest.mark.parametrize(("column", "text", "field"), [
    ("customer_name", '=HYPERLINK("http://e.vil","Pay here")', "customer name"),
    ("description", "+cmd|' /C calc'!A0", "line 1 description"),
    ("description", "-2+3", "line 1 description"),
    ("job_number", "@SUM(A1:A9)", "job number"),
    ("po_number", "=1+1", "PO number"),
    ("site_name", "\t=cmd", "site name"),
])
def test_a_formula_like_cell_blocks_the_invoice_naming_the_field(tmp_path, column, text, field):
    decision = formula_decision(tmp_path, [job_values("J1", **{column: text})])
    assert decision.outcome is Outcome.block and field in decision.reason


def test_a_negative_price_on_a_discount_line_is_a_number_not_a_formula(tmp_path):
    discount = job_values("J1", line_kind="discount", item_code="", description="Loyalty discount",
                          unit_price="-20.00")
    decision = formula_decision(tmp_path, [job_values("J1"), discount])
    assert decision.outcome is Outcome.passed
