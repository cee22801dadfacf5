"""map_servicetitan_job: decimal strings to exact money, appointments and assignments, modifiers, merges, bad jobs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mappings.servicetitan import map_servicetitan_job
from source_fakes import load_fixture
from workorders.anomalies import Anomaly
from workorders.work_order import LineKind, WorkOrder, WorkOrderStatus


def _payload(**job_changes):
    fixture = load_fixture("servicetitan_job.json")
    fixture["job"].update(job_changes)
    return {"job": fixture["job"], "appointments": fixture["appointments"]["data"],
            "assignments": fixture["assignments"]["data"], "invoices": fixture["invoices"]["data"],
            "customer": fixture["customer"], "location": fixture["location"]}


def _map(payload):
    return map_servicetitan_job(payload, company="acme", default_timezone="America/Chicago", currency="USD")


def test_the_reference_job_maps_with_exact_money_and_both_appointments():
    order = _map(_payload())
    assert isinstance(order, WorkOrder) and order.id == "servicetitan:88120011"
    assert order.status is WorkOrderStatus.completed and order.customer.name == "Morgan Lee"
    assert order.site.address.line1 == "77 Birch Ln"
    service, material = order.line_items
    assert (service.kind, service.quantity, service.unit_price, service.taxable) == (
        LineKind.labour, Decimal("1.0000"), Decimal("139.00"), False)
    assert (material.kind, material.item_code, material.unit_cost) == (LineKind.material, "IGN-HSI", Decimal("22.00"))
    assert order.subtotal == Decimal("289.00")
    assert [v.source_id for v in order.visits] == ["90011", "90044"]
    assert order.visits[0].technician_ids == ("4410",) and order.visits[1].technician_ids == ()
    assert [t.name for t in order.technicians] == ["Lee Park"]
    assert any("12.38" in note.text for note in order.notes)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Scheduled", WorkOrderStatus.scheduled), ("InProgress", WorkOrderStatus.in_progress),
    ("Hold", WorkOrderStatus.on_hold), ("Canceled", WorkOrderStatus.cancelled),
])
def test_job_statuses_map_to_closeout_statuses(raw, expected):
    assert _map(_payload(jobStatus=raw)).status is expected


def test_a_negative_price_modifier_is_a_discount_and_a_positive_one_a_fee():
    payload = _payload()
    payload["invoices"][0]["items"] += [
        {"id": 3, "description": "Member discount", "quantity": "1", "price": "-20.00", "total": "-20.00",
         "type": "PriceModifier", "skuName": "DISC-MEMBER", "taxable": False},
        {"id": 4, "description": "After-hours", "quantity": "1", "price": "45.00", "total": "45.00",
         "type": "PriceModifier", "skuName": "AH-FEE", "taxable": False}]
    order = _map(payload)
    assert [line.kind for line in order.line_items][2:] == [LineKind.discount, LineKind.fee]
    assert order.subtotal == Decimal("314.00")


def test_a_merged_customer_is_the_surviving_record_and_a_note_names_the_merged_id():
    payload = _payload()
    payload["customer"] = {**payload["customer"], "id": 5519999, "name": "Morgan & Sam Lee", "mergedFrom": ["5510021"]}
    order = _map(payload)
    assert order.customer.source_id == "5519999"
    assert any("5510021 was merged into 5519999" in note.text for note in order.notes)


@pytest.mark.parametrize(("change", "field"), [
    ({"jobStatus": "Vanished"}, "jobStatus"), ({"modifiedOn": None}, "modifiedOn"), ({"completedOn": None}, "completedOn"),
])
def test_an_unmappable_job_is_a_case_naming_the_field_with_the_payload_kept(change, field):
    payload = _payload(**change)
    result = _map(payload)
    assert isinstance(result, Anomaly) and field in result.summary and result.evidence["payload"] == payload


def test_an_item_total_that_disagrees_with_quantity_times_price_is_a_case():
    payload = _payload()
    payload["invoices"][0]["items"][1]["total"] = "151.00"
    result = _map(payload)
    assert isinstance(result, Anomaly) and "items[1].total" in result.summary


def test_the_invoices_sales_tax_is_the_source_tax_and_still_a_note():
    order = _map(_payload())
    assert order.source_tax == Decimal("12.38") and str(order.source_tax) == "12.38"
    assert any("source sales tax 12.38 on invoice 88120011" in note.text for note in order.notes)


def test_the_sales_tax_of_every_invoice_of_the_job_adds_up_exactly():
    payload = _payload()
    second = {**payload["invoices"][0], "id": 66100022, "referenceNumber": "88120011-2", "salesTax": "0.07",
              "items": []}
    payload["invoices"].append(second)
    assert _map(payload).source_tax == Decimal("12.45")


def test_a_job_whose_invoices_report_no_sales_tax_has_no_source_tax():
    payload = _payload()
    del payload["invoices"][0]["salesTax"]
    assert _map(payload).source_tax is None
    payload["invoices"] = []
    assert _map(payload).source_tax is None


def test_a_sales_tax_of_zero_is_reported_as_zero_not_as_none():
    payload = _payload()
    payload["invoices"][0]["salesTax"] = "0.00"
    order = _map(payload)
    assert order.source_tax == Decimal("0.00") and order.source_tax is not None
    assert not any("source sales tax" in note.text for note in order.notes)


def test_the_invoices_tax_code_name_is_the_tax_rate_of_its_taxable_items_only():
    service, material = _map(_payload()).line_items
    assert (service.taxable, service.tax_rate) == (False, None)
    assert (material.taxable, material.tax_rate) == (True, "TX Travis")


def test_an_invoice_without_a_tax_code_leaves_the_items_without_a_tax_rate():
    payload = _payload()
    payload["invoices"][0]["salesTaxCode"] = None
    assert [line.tax_rate for line in _map(payload).line_items] == [None, None]


@pytest.mark.parametrize(("change", "field"), [
    ({"salesTax": "abc"}, "invoices[0].salesTax"), ({"salesTax": "NaN"}, "invoices[0].salesTax"),
    ({"salesTaxCode": "TX Travis"}, "invoices[0].salesTaxCode"),
])
def test_an_unreadable_sales_tax_or_tax_code_is_a_case_naming_it(change, field):
    payload = _payload()
    payload["invoices"][0].update(change)
    result = _map(payload)
    assert isinstance(result, Anomaly) and field in result.summary and result.evidence["payload"] == payload
