"""map_housecallpro_job: cents to exact money, both status spellings, visits, discounts and tax lines, bad jobs as cases."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mappings.housecallpro import map_housecallpro_job
from source_fakes import load_fixture
from workorders.anomalies import Anomaly
from workorders.work_order import LineKind, WorkOrder, WorkOrderStatus


def _payload(lines=None, **changes):
    job = load_fixture("housecallpro_job.json")
    job.update(changes)
    return {"job": job, "line_items": load_fixture("housecallpro_line_items.json")["line_items"] if lines is None else lines}


def _map(payload, zone="America/Chicago"):
    return map_housecallpro_job(payload, company="acme", default_timezone=zone, currency="USD")


def test_the_reference_job_maps_with_cents_as_exact_money():
    order = _map(_payload())
    assert isinstance(order, WorkOrder) and order.id == "housecallpro:job_ac6f3efd11c14a5aa93e9fc0ab5354ab"
    assert order.job_number == "1187" and order.status is WorkOrderStatus.completed
    assert order.customer.name == "Dana Reyes" and order.site.address.postal_code == "78704"
    labour, part = order.line_items
    assert (labour.kind, labour.unit_price, labour.taxable) == (LineKind.labour, Decimal("89.00"), False)
    assert (part.kind, part.unit_price, part.unit_cost) == (LineKind.material, Decimal("361.00"), Decimal("42.00"))
    assert order.subtotal == Decimal("450.00")  # the job's own subtotal, 45000 cents
    assert [t.name for t in order.technicians] == ["April Potter"]
    (entry,) = order.time_entries
    assert entry.hours == Decimal("1.4") and entry.billable is False
    (visit,) = order.visits
    assert visit.source_id.endswith(":schedule") and visit.scheduled_start == datetime(2025, 6, 3, 14, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "expected"), [
    ("complete unrated", WorkOrderStatus.completed), ("complete_rated", WorkOrderStatus.completed),
    ("needs scheduling", WorkOrderStatus.scheduled), ("needs_scheduling", WorkOrderStatus.scheduled),
    ("in progress", WorkOrderStatus.in_progress), ("pro canceled", WorkOrderStatus.cancelled),
    ("user_canceled", WorkOrderStatus.cancelled), ("Scheduled", WorkOrderStatus.scheduled),
])
def test_statuses_with_spaces_and_with_underscores_map_alike(raw, expected):
    assert _map(_payload(work_status=raw)).status is expected


def test_deleted_and_cancelled_timestamps_win_over_the_status():
    assert _map(_payload(deleted_at="2025-06-04T10:00:00Z")).status is WorkOrderStatus.deleted
    assert _map(_payload(canceled_at="2025-06-04T10:00:00Z")).status is WorkOrderStatus.cancelled


def test_appointments_without_a_zone_become_visits_in_the_company_zone():
    appointments = [
        {"id": "apt_1", "start_time": "2025-06-03T09:00:00", "end_time": "2025-06-03T11:00:00",
         "arrival_window_minutes": 60, "dispatched_employees_ids": ["pro_428388df89be4e71b7e745621e798706"]},
        {"id": "apt_2", "start_time": "2025-06-05T09:00:00", "end_time": "2025-06-05T10:00:00",
         "arrival_window_minutes": 0, "dispatched_employees_ids": []},
    ]
    order = _map(_payload(schedule={"scheduled_start": None, "scheduled_end": None, "arrival_window": 0,
                                     "appointments": appointments}), zone="America/Chicago")
    assert [v.source_id for v in order.visits] == ["apt_1", "apt_2"]
    assert order.visits[0].scheduled_start == datetime(2025, 6, 3, 14, tzinfo=UTC)


def test_a_discount_is_negative_a_gratuity_is_a_fee_and_a_tax_line_is_left_to_the_ledger_as_a_note():
    lines = load_fixture("housecallpro_line_items.json")["line_items"] + [
        {"id": "li_03", "name": "Member discount", "kind": "fixed discount", "unit_price": -2500, "quantity": 1,
         "amount": -2500, "taxable": False},
        {"id": "li_04", "name": "Tip", "kind": "fixed gratuity", "unit_price": 1000, "quantity": 1, "amount": 1000},
        {"id": "li_05", "name": "Sales tax", "kind": "tax", "unit_price": 2978, "quantity": 1, "amount": 2978},
    ]
    order = _map(_payload(lines=lines))
    assert [line.kind for line in order.line_items] == [LineKind.labour, LineKind.material, LineKind.discount,
                                                         LineKind.fee]
    assert order.subtotal == Decimal("435.00")
    assert any("Sales tax" in note.text and "29.78" in note.text for note in order.notes)


@pytest.mark.parametrize(("change", "field"), [
    ({"work_status": "teleported"}, "work_status"),
    ({"updated_at": None}, "updated_at"),
    ({"customer": None}, "customer"),
])
def test_an_unmappable_job_is_a_case_naming_the_field_with_the_payload_kept(change, field):
    payload = _payload(**change)
    result = _map(payload)
    assert isinstance(result, Anomaly) and field in result.summary and result.evidence["payload"] == payload


def test_a_line_amount_that_disagrees_with_quantity_times_price_is_a_case():
    lines = load_fixture("housecallpro_line_items.json")["line_items"]
    lines[1]["amount"] = 99999
    result = _map(_payload(lines=lines))
    assert isinstance(result, Anomaly) and "line_items[1].amount" in result.summary


def test_cents_that_are_not_whole_are_a_case():
    lines = load_fixture("housecallpro_line_items.json")["line_items"]
    lines[0]["unit_price"] = 89.5
    assert isinstance(_map(_payload(lines=lines)), Anomaly)


def test_the_tax_lines_add_up_to_the_source_tax_exactly_and_each_stays_a_note():
    lines = load_fixture("housecallpro_line_items.json")["line_items"] + [
        {"id": "li_05", "name": "State tax", "kind": "tax", "unit_price": 2230, "quantity": 1, "amount": 2230},
        {"id": "li_06", "name": "City tax", "kind": "tax", "unit_price": 748, "quantity": 1, "amount": 748},
    ]
    order = _map(_payload(lines=lines))
    assert order.source_tax == Decimal("29.78") and str(order.source_tax) == "29.78"
    assert [line.kind for line in order.line_items] == [LineKind.labour, LineKind.material]
    texts = [note.text for note in order.notes]
    assert any("'State tax': 22.3" in t for t in texts) and any("'City tax': 7.48" in t for t in texts)


def test_a_tax_line_without_an_amount_counts_its_quantity_times_unit_price():
    lines = [{"id": "li_05", "name": "Sales tax", "kind": "tax", "unit_price": 2978, "quantity": 1}]
    assert _map(_payload(lines=lines)).source_tax == Decimal("29.78")


def test_a_job_without_a_tax_line_has_no_source_tax_and_no_line_tax_rates():
    order = _map(_payload())
    assert order.source_tax is None
    assert [line.tax_rate for line in order.line_items] == [None, None]


@pytest.mark.parametrize(("tax_line", "field"), [
    ({"amount": "abc"}, "line_items[2].amount"),
    ({"amount": 29.5, "unit_price": None, "quantity": None}, "line_items[2].amount"),
    ({"amount": None, "unit_price": None, "quantity": None}, "line_items[2].amount"),
    ({"amount": 3000}, "line_items[2].amount"),
])
def test_a_tax_line_that_cannot_be_read_is_a_case_naming_the_field(tax_line, field):
    lines = load_fixture("housecallpro_line_items.json")["line_items"] + [
        {"id": "li_05", "name": "Sales tax", "kind": "tax", "unit_price": 2978, "quantity": 1, "amount": 2978}
        | tax_line]
    payload = _payload(lines=lines)
    result = _map(payload)
    assert isinstance(result, Anomaly) and field in result.summary and result.evidence["payload"] == payload
