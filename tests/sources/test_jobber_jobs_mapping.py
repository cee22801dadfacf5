"""map_jobber_job: the sources.md job to a WorkOrder, and every unreadable job to a case that keeps the payload."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mappings.jobber import map_jobber_job
from source_fakes import load_fixture
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.work_order import AttachmentKind, JobType, LineKind, WorkOrder, WorkOrderStatus


def _job(**changes):
    job = load_fixture("jobber_job.json")
    job.update(changes)
    return job


def _map(job, zone="America/Edmonton"):
    return map_jobber_job(job, company="acme", default_timezone=zone, currency="CAD")


def test_the_reference_job_maps_with_exact_money_visits_technicians_and_evidence():
    order = _map(_job())
    assert isinstance(order, WorkOrder)
    assert order.id == "jobber:Z2lkOi8vSm9iYmVyL0pvYi80ODIxMTkzNw==" and order.job_number == "1042"
    assert order.status is WorkOrderStatus.completed and order.currency == "CAD"
    assert order.customer.name == "Pat Singh" and order.customer.email == "pat@example.com"
    assert order.site.address.city == "Calgary" and order.site.timezone == "America/Edmonton"
    product, labour = order.line_items
    assert (product.kind, product.quantity, product.unit_price, product.unit_cost) == (
        LineKind.part, Decimal("1.0"), Decimal("1450.0"), Decimal("980.0"))
    assert (labour.kind, labour.quantity, labour.unit_price, labour.amount) == (
        LineKind.labour, Decimal("3.5"), Decimal("127.0"), Decimal("444.50"))
    assert order.subtotal == Decimal("1894.50")
    assert [t.name for t in order.technicians] == ["Sam Ortiz"]
    assert order.visits[0].technician_ids == (order.technicians[0].source_id,)
    (entry,) = order.time_entries
    assert entry.hours == Decimal("3.5") and entry.billable is False
    assert [n.text for n in order.notes] == ["Old tank hauled away."]
    assert order.attachments[0].kind is AttachmentKind.photo_after
    assert order.completed_at == datetime(2025, 6, 4, 21, 12, 44, tzinfo=UTC)


def test_a_float_price_keeps_the_digits_jobber_printed():
    job = _job()
    job["lineItems"]["nodes"][1].update(quantity=0.1, unitPrice=0.7, totalPrice=0.07)
    line = _map(job).line_items[1]
    assert line.quantity == Decimal("0.1") and line.unit_price == Decimal("0.7") and line.amount == Decimal("0.07")


def test_a_time_without_a_zone_is_read_in_the_company_zone():
    order = _map(_job(completedAt="2025-06-04T15:12:44", updatedAt="2025-06-04T15:13:02"), zone="America/Edmonton")
    assert order.completed_at == datetime(2025, 6, 4, 21, 12, 44, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "completed", "expected"), [
    ("requires_invoicing", True, WorkOrderStatus.completed),
    ("archived", True, WorkOrderStatus.completed),
    ("archived", False, WorkOrderStatus.cancelled),
    ("active", False, WorkOrderStatus.in_progress),
    ("late", False, WorkOrderStatus.scheduled),
    ("upcoming", False, WorkOrderStatus.scheduled),
    ("on_hold", False, WorkOrderStatus.on_hold),
    ("action_required", False, WorkOrderStatus.on_hold),
])
def test_jobber_statuses_map_to_closeout_statuses(raw, completed, expected):
    job = _job(jobStatus=raw, completedAt="2025-06-04T21:12:44Z" if completed else None)
    assert _map(job).status is expected


def test_a_multi_visit_job_keeps_every_visit_and_each_visits_technicians():
    job = _job()
    second = copy.deepcopy(job["visits"]["nodes"][0])
    second.update(id="visit-2", startAt="2025-06-05T15:00:00Z",
                  assignedUsers={"nodes": [{"id": "user-2", "name": {"full": "Ana Ruiz"}}]})
    job["visits"]["nodes"].append(second)
    order = _map(job)
    assert [v.source_id for v in order.visits][1] == "visit-2"
    assert order.visits[1].technician_ids == ("user-2",)
    assert {t.name for t in order.technicians} == {"Sam Ortiz", "Ana Ruiz"}


def test_a_negative_line_is_a_discount_and_a_running_timer_is_left_out():
    job = _job()
    job["lineItems"]["nodes"].append({"id": "d1", "name": "Loyalty discount", "description": "", "category": "SERVICE",
                                      "quantity": 1.0, "unitPrice": -50.0, "totalPrice": -50.0, "taxable": False})
    job["timeSheetEntries"]["nodes"][0]["ticking"] = True
    order = _map(job)
    assert order.line_items[-1].kind is LineKind.discount and order.line_items[-1].amount == Decimal("-50.00")
    assert order.subtotal == Decimal("1844.50") and order.time_entries == ()


def test_install_and_recurring_jobs_get_their_job_types():
    assert _map(_job(title="Install furnace")).job_type is JobType.installation
    assert _map(_job(title="Quarterly PM", jobType="RECURRING")).job_type is JobType.preventive


@pytest.mark.parametrize(("change", "field"), [
    ({"jobStatus": "teleported"}, "jobStatus"),
    ({"updatedAt": "yesterday"}, "updatedAt"),
    ({"client": None}, "client"),
    ({"jobStatus": "requires_invoicing", "completedAt": None}, "completedAt"),
])
def test_an_unmappable_job_becomes_a_case_that_names_the_field_and_keeps_the_payload(change, field):
    job = _job(**change)
    result = _map(job)
    assert isinstance(result, Anomaly) and result.code is AnomalyCode.source_payload_invalid
    assert field in result.summary and result.evidence["payload"] == job
    assert result.work_order_id == "jobber:Z2lkOi8vSm9iYmVyL0pvYi80ODIxMTkzNw=="


def test_a_line_whose_total_disagrees_with_quantity_times_price_is_a_case():
    job = _job()
    job["lineItems"]["nodes"][1]["totalPrice"] = 500.0
    result = _map(job)
    assert isinstance(result, Anomaly) and "lineItems[1].totalPrice" in result.summary


def test_something_that_is_not_a_job_at_all_is_a_case_not_a_crash():
    result = map_jobber_job(["not", "a", "job"], company="acme", default_timezone="UTC")
    assert isinstance(result, Anomaly) and result.subject == "jobber:(no id)"


def test_the_propertys_tax_rate_name_is_the_tax_rate_of_each_taxable_line():
    product, labour = _map(_job()).line_items
    assert (product.tax_rate, labour.tax_rate) == ("GST", "GST")


def test_a_line_that_is_not_taxable_has_no_tax_rate():
    job = _job()
    job["lineItems"]["nodes"][1]["taxable"] = False
    product, labour = _map(job).line_items
    assert (product.tax_rate, labour.taxable, labour.tax_rate) == ("GST", False, None)


def test_a_property_without_a_tax_rate_leaves_every_line_without_one():
    job = _job()
    job["property"]["taxRate"] = None
    assert [line.tax_rate for line in _map(job).line_items] == [None, None]


def test_a_jobber_job_reports_no_tax_amount_so_the_source_tax_is_none():
    """Jobber keeps tax amounts on invoices and quotes, which the connector does not read; a job has none."""
    assert _map(_job()).source_tax is None


def test_a_tax_rate_that_is_not_an_object_is_a_case_naming_it():
    job = _job()
    job["property"]["taxRate"] = "GST"
    result = _map(job)
    assert isinstance(result, Anomaly) and "property.taxRate" in result.summary and result.evidence["payload"] == job
