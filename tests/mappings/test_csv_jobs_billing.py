"""The CSV columns the business rules read: billing, photos, and labour rows that are recorded time only."""

import hashlib
import json
from decimal import Decimal

from mappings.csv_drop import map_csv_job
from workorders.anomalies import Anomaly
from workorders.work_order import AttachmentKind, Billing, LineKind, WorkOrder

JOB = {
    "job_id": "J1", "job_number": "1001", "customer_id": "C-1", "customer_name": "Maple Street Bakery",
    "job_type": "installation", "status": "completed", "completed_at": "2026-11-03 14:40",
    "updated_at": "2026-11-03 15:05", "timezone": "America/Chicago", "currency": "USD",
    "signed_by": "Grace Kim", "signed_at": "2026-11-03 14:43",
}
LABOUR = {"technician": "Sam Okafor", "line_kind": "labour", "item_code": "LAB-STD", "description": "Labour",
          "quantity": "1.5", "unit_price": "125.00", "hours_start": "2026-11-03 13:00", "hours_end": "2026-11-03 14:30"}
TIME_ONLY = LABOUR | {"quantity": "", "unit_price": "", "description": ""}
PART = {"line_kind": "part", "item_code": "CAP-45-5", "description": "Capacitor", "quantity": "1", "unit_price": "89"}


def mapped(*rows: dict) -> WorkOrder | Anomaly:
    columns = sorted({column for row in rows for column in row} | {"billing", "photos_before", "photos_after"})
    payload = {"file": "jobs.csv", "rows": [
        {"row": 2 + i, "values": {c: row.get(c, "") for c in columns}} for i, row in enumerate(rows)]}
    return map_csv_job(payload, company="northwind", default_timezone="America/Chicago")


def test_a_job_is_billable_unless_the_billing_column_says_warranty_or_no_charge():
    assert mapped(JOB | PART).billing is Billing.billable
    assert mapped(JOB | PART | {"billing": "warranty"}).billing is Billing.warranty
    assert mapped(JOB | PART | {"billing": "No charge"}).billing is Billing.no_charge
    bad = mapped(JOB | PART | {"billing": "free"})
    assert isinstance(bad, Anomaly) and "column billing: 'free' is not one of billable, warranty, no_charge" in bad.summary


def test_photos_named_in_the_csv_become_before_and_after_attachments_by_reference():
    order = mapped(JOB | PART | {"photos_before": "a/before.jpg", "photos_after": "a/after-1.jpg; a/after-2.jpg"})
    assert [(a.kind, a.file_name) for a in order.attachments] == [
        (AttachmentKind.photo_before, "a/before.jpg"), (AttachmentKind.photo_after, "a/after-1.jpg"),
        (AttachmentKind.photo_after, "a/after-2.jpg"),
    ]
    assert len({a.content_hash for a in order.attachments}) == 3


def test_a_labour_row_with_hours_but_no_quantity_or_price_is_recorded_time_only():
    order = mapped(JOB | TIME_ONLY, JOB | PART)
    assert [line.kind for line in order.line_items] == [LineKind.part]
    (entry,) = order.time_entries
    assert (entry.source_id, entry.technician_id, entry.hours) == ("J1:time:2", "sam-okafor", Decimal("1.5000"))


def test_a_labour_row_with_a_price_but_no_quantity_is_still_a_line_of_its_hours():
    order = mapped(JOB | LABOUR | {"quantity": ""})
    assert [(line.kind, line.quantity) for line in order.line_items] == [(LineKind.labour, Decimal("1.50"))]


def test_a_billable_job_without_the_new_columns_hashes_as_before():
    """Stores filled before ``billing``, ``source_tax`` and ``tax_rate`` existed must not see every job as changed."""
    order = mapped(JOB | PART)
    body = order.model_dump(mode="json", exclude={"version", "billing", "source_tax"})
    for line in body["line_items"]:
        del line["tax_rate"]
    for record in (*body["attachments"], *body["approvals"]):  # mail provenance, added later still
        del record["provenance"]
    del body["customer"]["contact_emails"]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert order.content_hash() == hashlib.sha256(text.encode()).hexdigest()
    assert order.model_copy(update={"billing": Billing.warranty}).content_hash() != order.content_hash()
    assert order.model_copy(update={"source_tax": Decimal("8.25")}).content_hash() != order.content_hash()
