import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.csv_drop import map_csv_job
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.work_order import JobType, LineKind, Priority, WorkOrder, WorkOrderStatus

JOB = {
    "job_id": "J1", "job_number": "1001", "customer_id": "C-1", "customer_name": "Maple Street Bakery",
    "customer_email": "hello@maple.example", "site_name": "Maple Street Bakery", "site_address": "231 Maple St",
    "job_type": "corrective", "priority": "high", "status": "completed", "completed_at": "2026-11-03 14:40",
    "updated_at": "2026-11-03 15:05", "timezone": "America/Chicago", "crew": "Crew B — Sam Okafor",
    "signed_by": "Grace Kim", "signed_at": "2026-11-03 14:43", "approved_by": "", "approved_at": "",
    "po_number": "PO-7", "currency": "USD", "notes": "",
}
LABOUR = {"technician": "Sam Okafor", "line_kind": "labour", "item_code": "LAB-STD", "description": "Labour",
          "quantity": "1.5", "unit_price": "125.00", "unit_cost": "48.00", "taxable": "no",
          "hours_start": "2026-11-03 13:00", "hours_end": "2026-11-03 14:30"}
PART = {"technician": "Sam Okafor", "line_kind": "part", "item_code": "CAP-45-5", "description": "Capacitor",
        "quantity": "1", "unit_price": "89.00", "unit_cost": "14.80", "taxable": "yes",
        "hours_start": "", "hours_end": ""}


def payload(*rows: dict, file: str = "jobs.csv", first_row: int = 2) -> dict:
    """The payload csv_drop delivers for these rows: every known column present, extra keys kept."""
    columns = list(JOB) + list(LABOUR)
    return {"file": file, "encoding": "utf-8", "rows": [
        {"row": first_row + i, "values": {c: row.get(c, "") for c in columns} | row} for i, row in enumerate(rows)
    ]}


def mapped(*rows: dict, default_timezone: str = "America/Chicago", **kwargs) -> WorkOrder | Anomaly:
    return map_csv_job(payload(*rows, **kwargs), company="northwind", default_timezone=default_timezone)


def order_of(*rows: dict, **kwargs) -> WorkOrder:
    result = mapped(*rows, **kwargs)
    assert isinstance(result, WorkOrder), result.summary
    return result


def anomaly_of(*rows: dict, **kwargs) -> Anomaly:
    result = mapped(*rows, **kwargs)
    assert isinstance(result, Anomaly), result
    assert result.code is AnomalyCode.source_payload_invalid
    return result


def test_a_clean_job_becomes_a_work_order_with_its_lines_in_row_order():
    order = order_of(JOB | LABOUR, JOB | PART)
    assert (order.id, order.job_number, order.company) == ("csv:J1", "1001", "northwind")
    assert (order.job_type, order.status) == (JobType.corrective, WorkOrderStatus.completed)
    assert order.priority is Priority.high
    assert order.customer.name == "Maple Street Bakery" and order.customer.email == "hello@maple.example"
    assert order.site.timezone == "America/Chicago" and order.site.address.line1 == "231 Maple St"
    assert [(line.kind, line.item_code, line.quantity, line.unit_price) for line in order.line_items] == [
        (LineKind.labour, "LAB-STD", Decimal("1.5"), Decimal("125.00")),
        (LineKind.part, "CAP-45-5", Decimal("1"), Decimal("89.00")),
    ]
    assert [line.taxable for line in order.line_items] == [False, True]
    assert order.subtotal == Decimal("276.50")
    assert (order.po_number, order.currency) == ("PO-7", "USD")


def test_naive_date_times_are_read_in_the_job_time_zone_and_stored_in_utc():
    order = order_of(JOB | LABOUR)
    assert order.completed_at == datetime(2026, 11, 3, 20, 40, tzinfo=UTC)
    assert order.completed_at.utcoffset().total_seconds() == 0


def test_a_date_time_with_an_offset_keeps_its_own_offset():
    order = order_of(JOB | LABOUR | {"updated_at": "2026-11-03T15:05:00-05:00"})
    assert order.updated_at == datetime(2026, 11, 3, 20, 5, tzinfo=UTC)


def test_the_company_default_time_zone_applies_when_the_column_is_empty():
    order = order_of(JOB | LABOUR | {"timezone": ""}, default_timezone="America/New_York")
    assert order.site.timezone == "America/New_York"
    assert order.completed_at == datetime(2026, 11, 3, 19, 40, tzinfo=UTC)


def test_a_labour_row_with_hours_becomes_a_time_entry_for_its_technician():
    order = order_of(JOB | LABOUR)
    (entry,) = order.time_entries
    assert (entry.technician_id, entry.hours) == ("sam-okafor", Decimal("1.5"))
    assert order.technicians[0].crew == "Crew B — Sam Okafor"
    assert order.line_items[0].service_date == date(2026, 11, 3)


def test_a_labour_row_without_quantity_bills_the_hours_worked():
    order = order_of(JOB | LABOUR | {"quantity": "", "hours_end": "2026-11-03 14:20"})
    assert order.line_items[0].quantity == Decimal("1.33")


def test_sign_off_and_amount_approval_become_approvals():
    order = order_of(JOB | LABOUR | {"approved_by": "Dana", "approved_at": "2026-10-30 09:15"})
    assert [(a.kind, a.approved_by) for a in order.approvals] == [("sign_off", "Grace Kim"), ("amount", "Dana")]
    assert order.attachments == ()


def test_job_columns_may_be_blank_on_the_other_rows_of_the_job():
    blank = {column: "" for column in JOB if column != "job_id"}
    order = order_of(JOB | LABOUR, {"job_id": "J1"} | PART | blank)
    assert len(order.line_items) == 2 and order.customer.name == "Maple Street Bakery"


def test_american_spellings_and_loose_casing_are_understood():
    order = order_of(JOB | LABOUR | {"line_kind": "Labor", "status": "Completed", "job_type": "General Maintenance"})
    assert order.line_items[0].kind is LineKind.labour and order.job_type is JobType.general_maintenance
    assert order_of(JOB | {"status": "canceled", "completed_at": ""}).status is WorkOrderStatus.cancelled


def test_a_discount_is_negative_whichever_sign_it_was_written_with():
    for price in ("25.00", "-25.00"):
        order = order_of(JOB | PART, JOB | PART | {"line_kind": "discount", "item_code": "DISC", "unit_price": price})
        assert order.subtotal == Decimal("64.00")


def test_a_line_without_a_price_is_mapped_and_left_for_the_rules_to_block():
    order = order_of(JOB | PART | {"unit_price": ""})
    assert order.line_items[0].unit_price is None


def test_a_row_with_no_line_columns_is_a_job_only_row():
    order = order_of(JOB | {"technician": "Sam Okafor"})
    assert order.line_items == () and order.technicians[0].name == "Sam Okafor"


def test_each_distinct_note_is_kept_once_by_the_technician_who_wrote_it():
    order = order_of(JOB | LABOUR | {"notes": "Gate code 4471"}, JOB | PART | {"notes": "Gate code 4471"})
    assert [(n.author, n.text) for n in order.notes] == [("Sam Okafor", "Gate code 4471")]


def test_mapping_the_same_payload_twice_gives_the_same_content_hash():
    assert order_of(JOB | LABOUR, JOB | PART).content_hash() == order_of(JOB | LABOUR, JOB | PART).content_hash()


def test_a_quantity_that_is_not_a_number_names_the_file_row_and_column():
    anomaly = anomaly_of(JOB | LABOUR, JOB | PART | {"quantity": "two"}, file="jobs-2026-11.csv", first_row=13)
    assert anomaly.summary == "jobs-2026-11.csv row 14, column quantity: 'two' is not a number"
    assert (anomaly.subject, anomaly.work_order_id, anomaly.company) == ("csv:J1", "csv:J1", "northwind")
    assert anomaly.evidence["rows"][1]["values"]["quantity"] == "two"
    assert anomaly.suggested_actions == ("fix_at_source",)


def test_a_price_written_as_a_decimal_string_with_thousands_separators_is_fine():
    assert order_of(JOB | PART | {"unit_price": "1,250.50"}).line_items[0].unit_price == Decimal("1250.50")


def test_bad_values_each_name_their_column():
    cases = {
        "job_type": ({"job_type": "repair"}, "'repair' is not one of preventive, corrective"),
        "timezone": ({"timezone": "Mars/Olympus"}, "'Mars/Olympus' is not an IANA time zone"),
        "completed_at": ({"completed_at": "11/03/2026"}, "'11/03/2026' is not an ISO 8601 date-time"),
        "currency": ({"currency": "dollars"}, "'dollars' is not an ISO 4217 code"),
        "taxable": ({"taxable": "maybe"}, "'maybe' is not yes or no"),
        "unit_price": ({"unit_price": "$89"}, "'$89' is not a number"),
        "signed_at": ({"signed_at": ""}, "signed_by and signed_at go together"),
        "quantity": ({"quantity": "1e15"}, "'1e15' is too large to be an amount on a job"),
        "priority": ({"priority": "asap"}, "'asap' is not one of low, normal"),
    }
    for column, (change, message) in cases.items():
        anomaly = anomaly_of(JOB | PART | change)
        assert anomaly.summary.startswith(f"jobs.csv row 2, column {column}: {message}"), anomaly.summary


def test_a_missing_required_column_is_reported_against_the_header_row():
    row = {k: v for k, v in (JOB | PART).items() if k != "currency"}
    data = payload(row)
    for entry in data["rows"]:
        del entry["values"]["currency"]
    anomaly = map_csv_job(data, company="northwind", default_timezone="UTC")
    assert anomaly.summary == "jobs.csv row 1, column currency: the column is missing from the header"


def test_an_empty_required_value_is_named():
    summary = anomaly_of(JOB | PART | {"customer_id": ""}).summary
    assert summary == "jobs.csv row 2, column customer_id: a value is required"


def test_rows_of_one_job_that_disagree_name_both_rows_and_keep_the_raw_rows():
    anomaly = anomaly_of(JOB | LABOUR, JOB | PART | {"customer_name": "Maple St Bakery"})
    assert anomaly.summary == (
        "jobs.csv row 3, column customer_name: 'Maple St Bakery' disagrees with row 2 ('Maple Street Bakery')"
    )
    assert len(anomaly.evidence["rows"]) == 2


def test_a_completed_job_needs_its_completion_time():
    assert "column completed_at: a completed job needs" in anomaly_of(JOB | PART | {"completed_at": ""}).summary


def test_hours_that_are_half_given_backwards_or_on_a_part_row_are_refused():
    assert "hours need both" in anomaly_of(JOB | LABOUR | {"hours_end": ""}).summary
    assert "is not after hours_start" in anomaly_of(JOB | LABOUR | {"hours_end": "2026-11-03 12:00"}).summary
    assert "hours belong on labour rows" in anomaly_of(JOB | PART | {"hours_start": "2026-11-03 13:00"}).summary


def test_line_values_without_a_line_kind_are_not_silently_ignored():
    assert "column line_kind: empty, but the row has line values" in anomaly_of(JOB | PART | {"line_kind": ""}).summary


def test_negative_quantities_and_prices_belong_on_discount_lines():
    assert "column quantity: '-1' is negative" in anomaly_of(JOB | PART | {"quantity": "-1"}).summary
    assert "column unit_price: '-89.00' is negative" in anomaly_of(JOB | PART | {"unit_price": "-89.00"}).summary


def test_short_rows_and_extra_cells_are_reported():
    short = payload(JOB | PART)
    short["rows"][0]["values"]["hours_end"] = None
    summary = map_csv_job(short, company="c", default_timezone="UTC").summary
    assert "column hours_end: the row ends before this column" in summary
    extra = payload(JOB | PART | {"__extra__": ["surprise"]})
    assert "1 cells more than the header" in map_csv_job(extra, company="c", default_timezone="UTC").summary


def test_every_problem_is_in_the_evidence_and_the_summary_counts_the_rest():
    anomaly = anomaly_of(JOB | PART | {"quantity": "two", "unit_price": "lots", "taxable": "maybe"})
    assert anomaly.summary.endswith("(and 2 more)")
    assert [p["column"] for p in anomaly.evidence["problems"]] == ["quantity", "unit_price", "taxable"]


def test_a_row_without_a_job_id_becomes_a_case_named_by_file_and_row():
    anomaly = anomaly_of(JOB | PART | {"job_id": ""}, first_row=9)
    assert anomaly.subject == "csv:jobs.csv#row9" and anomaly.work_order_id is None
    assert anomaly.summary == "jobs.csv row 9, column job_id: a value is required"


def test_a_payload_that_is_not_a_csv_job_is_an_anomaly_not_a_crash():
    for junk in ({}, {"file": "x.csv", "rows": []}, {"file": "x.csv", "rows": [{"row": "2"}]}, ["not", "a", "dict"]):
        result = map_csv_job(junk, company="c", default_timezone="UTC")
        assert isinstance(result, Anomaly) and result.code is AnomalyCode.source_payload_invalid


def test_the_example_in_the_format_documentation_maps_cleanly():
    text = (Path(__file__).parents[2] / "docs" / "csv-format.md").read_text(encoding="utf-8")
    block = re.search(r"```csv\n(.*?)```", text, re.S).group(1)
    rows = list(csv.DictReader(io.StringIO(block)))
    order = map_csv_job(
        {"file": "example.csv", "rows": [{"row": i + 2, "values": row} for i, row in enumerate(rows)]},
        company="northwind", default_timezone="UTC",
    )
    assert isinstance(order, WorkOrder), order
    assert order.subtotal == Decimal("365.50")


tricky = ["", "1", "-3", "1e9", "1e999999", "NaN", "yes", "labour", "2026-11-03 14:00", "9999-12-31 23:59"]
cells = st.one_of(st.text(max_size=12), st.sampled_from(tricky))


@settings(max_examples=200, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(sorted(JOB | LABOUR)), cells, max_size=6))
def test_mapping_never_raises_whatever_the_cells_say(changes):
    result = map_csv_job(payload(JOB | LABOUR | changes, JOB | PART), company="c", default_timezone="UTC")
    assert isinstance(result, (WorkOrder, Anomaly))
