"""The CSV tax columns: the job's ``tax`` charged at the source and each line's ``tax_rate`` name."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.csv_drop import map_csv_job
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.work_order import WorkOrder

JOB = {
    "job_id": "J1", "job_number": "1001", "customer_id": "C-1", "customer_name": "Maple Street Bakery",
    "job_type": "corrective", "status": "completed", "completed_at": "2026-11-03 14:40",
    "updated_at": "2026-11-03 15:05", "timezone": "America/Chicago", "currency": "USD", "tax": "",
}
PART = {"line_kind": "part", "item_code": "CAP-45-5", "description": "Capacitor", "quantity": "1",
        "unit_price": "89.00", "taxable": "yes", "tax_rate": ""}
LABOUR = {"technician": "Sam Okafor", "line_kind": "labour", "item_code": "LAB-STD", "quantity": "1.5",
          "unit_price": "125.00", "taxable": "no", "tax_rate": "", "hours_start": "2026-11-03 13:00",
          "hours_end": "2026-11-03 14:30"}


def payload(*rows: dict) -> dict:
    columns = list(JOB) + [c for c in LABOUR | PART if c not in JOB]
    return {"file": "jobs.csv", "encoding": "utf-8", "rows": [
        {"row": 2 + i, "values": {c: row.get(c, "") for c in columns} | row} for i, row in enumerate(rows)]}


def mapped(*rows: dict) -> WorkOrder | Anomaly:
    return map_csv_job(payload(*rows), company="northwind", default_timezone="America/Chicago")


def order_of(*rows: dict) -> WorkOrder:
    result = mapped(*rows)
    assert isinstance(result, WorkOrder), result.summary
    return result


def anomaly_of(*rows: dict) -> Anomaly:
    result = mapped(*rows)
    assert isinstance(result, Anomaly), result
    assert result.code is AnomalyCode.source_payload_invalid
    return result


def test_the_tax_column_is_the_source_tax_as_an_exact_decimal():
    order = order_of(JOB | LABOUR | {"tax": "7.34"}, JOB | PART)
    assert order.source_tax == Decimal("7.34") and str(order.source_tax) == "7.34"
    assert order.subtotal == Decimal("276.50")  # the source tax is kept, never billed as a line


def test_a_tax_with_thousands_separators_is_read_like_any_other_number():
    assert order_of(JOB | PART | {"tax": "1,250.05"}).source_tax == Decimal("1250.05")


def test_a_tax_of_zero_is_reported_as_zero():
    assert order_of(JOB | PART | {"tax": "0"}).source_tax == Decimal("0")


def test_the_tax_may_be_given_on_one_row_of_the_job_only():
    order = order_of(JOB | LABOUR, JOB | PART | {"tax": "7.34"})
    assert order.source_tax == Decimal("7.34")


def test_an_empty_tax_or_no_tax_column_at_all_means_no_source_tax():
    assert order_of(JOB | PART).source_tax is None
    without = payload(JOB | PART)
    for row in without["rows"]:
        del row["values"]["tax"], row["values"]["tax_rate"]
    order = map_csv_job(without, company="northwind", default_timezone="America/Chicago")
    assert isinstance(order, WorkOrder) and order.source_tax is None
    assert order.line_items[0].tax_rate is None


@pytest.mark.parametrize(("text", "message"), [
    ("abc", "'abc' is not a number"), ("7,34€", "'7,34€' is not a number"),
    ("-1.00", "'-1.00' is negative"), ("1e15", "too large"),
])
def test_a_bad_tax_names_its_row_and_column(text, message):
    anomaly = anomaly_of(JOB | LABOUR, JOB | PART | {"tax": text})
    assert anomaly.summary.startswith("jobs.csv row 3, column tax: ") and message in anomaly.summary
    assert anomaly.evidence["rows"] == payload(JOB | LABOUR, JOB | PART | {"tax": text})["rows"]


def test_two_rows_that_disagree_on_the_tax_are_refused():
    anomaly = anomaly_of(JOB | LABOUR | {"tax": "7.34"}, JOB | PART | {"tax": "7.35"})
    assert "row 3, column tax: '7.35' disagrees with row 2 ('7.34')" in anomaly.summary


def test_a_line_tax_rate_is_kept_as_the_sources_name_for_it():
    order = order_of(JOB | LABOUR, JOB | PART | {"tax_rate": "Chicago 10.25%"})
    labour, part = order.line_items
    assert (labour.taxable, labour.tax_rate) == (False, None)
    assert (part.taxable, part.tax_rate) == (True, "Chicago 10.25%")


def test_a_tax_rate_on_a_line_that_is_not_taxable_is_refused():
    anomaly = anomaly_of(JOB | LABOUR | {"tax_rate": "GST"})
    assert "row 2, column tax_rate: 'GST' is given, but the line is not taxable" in anomaly.summary


def test_a_tax_rate_without_a_line_kind_is_not_silently_ignored():
    anomaly = anomaly_of(JOB | PART, JOB | {"tax_rate": "GST"})
    assert "row 3, column line_kind" in anomaly.summary and "tax_rate" in anomaly.summary


def test_a_tax_rate_on_recorded_time_only_is_refused_rather_than_lost():
    time_only = LABOUR | {"quantity": "", "unit_price": "", "taxable": "", "tax_rate": "GST"}
    anomaly = anomaly_of(JOB | time_only)
    assert "row 2, column tax_rate: recorded time only" in anomaly.summary


def test_a_job_without_the_tax_columns_hashes_as_it_did_before_they_existed():
    with_columns, without = payload(JOB | PART), payload(JOB | PART)
    for row in without["rows"]:
        del row["values"]["tax"], row["values"]["tax_rate"]
    before = map_csv_job(without, company="n", default_timezone="UTC")
    after = map_csv_job(with_columns, company="n", default_timezone="UTC")
    assert before.content_hash() == after.content_hash()
    assert order_of(JOB | PART | {"tax": "7.34"}).content_hash() != order_of(JOB | PART).content_hash()


cells = st.one_of(st.text(max_size=12), st.sampled_from(["", "0", "-3", "1e9", "1e999999", "NaN", "abc", "GST"]))


@settings(max_examples=150, deadline=None)
@given(tax=cells, rate=cells, taxable=st.sampled_from(["", "yes", "no", "maybe"]))
def test_mapping_never_raises_whatever_the_tax_cells_say(tax, rate, taxable):
    result = mapped(JOB | PART | {"tax": tax, "tax_rate": rate, "taxable": taxable}, JOB | LABOUR)
    assert isinstance(result, (WorkOrder, Anomaly))
