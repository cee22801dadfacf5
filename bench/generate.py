"""Realistic field-service data at any scale, deterministic by seed: CSV job rows, work orders, ready drafts.

A job is what a booking system exports: a customer (one of ``customers``, each with an email), a site, a
job type, one to four lines (labour with its time entry, parts, materials, a call-out fee, sometimes a
discount), a technician and crew, a note and a sign-off. Rows are in the CSV-drop format
(docs/csv-format.md), so the project's own mapping turns them into ``WorkOrder``s and its own draft builder
into ``InvoiceDraft``s: nothing here invents a record type. ``clean_job_rows`` are the plain jobs the
ledger tests use (every rule passes); ``job_rows`` varies job types, line counts and prices with a seed.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mappings.company_tables import MappingTables
from mappings.csv_drop import map_csv_job
from mappings.drafts import build_draft
from workorders.drafts import InvoiceDraft
from workorders.work_order import WorkOrder

COLUMNS = ("job_id,job_number,customer_id,customer_name,customer_email,site_name,site_address,job_type,priority,"
           "status,completed_at,updated_at,timezone,technician,crew,line_kind,item_code,description,quantity,"
           "unit_price,unit_cost,taxable,hours_start,hours_end,signed_by,signed_at,approved_by,approved_at,notes,"
           "po_number,currency,billing,photos_before,photos_after").split(",")
JOB_TYPES = ("preventive", "corrective", "emergency", "inspection", "general_maintenance", "installation")
PARTS = (("PART", "Filter drier", "24.50"), ("PART", "Contactor 40A", "38.00"), ("PART", "Capacitor 45/5", "19.75"),
         ("MAT", "Copper pipe 3/8 (m)", "7.20"), ("MAT", "Cable 2.5mm TPS (m)", "2.10"), ("PART", "RCD 30mA", "64.00"))
NOTES = ("Replaced worn part, tested under load.", "Customer reports intermittent fault; could not reproduce.",
         "Annual service done, filters changed.", "Installed per quote; site left clean.", "Access via rear gate.")
TABLES = MappingTables(items={"LAB": "1", "PART": "2", "MAT": "2", "FEE": "1"},
                       default_items={"labour": "1", "part": "2", "material": "2", "fee": "1", "discount": "1"},
                       tax_codes={"taxable": "TAX", "exempt": "NON"})
"""Mapping tables for the ledger sandboxes' seeded items and tax codes (QBO ids; see ``xero_tables``)."""


def customer(prefix: str, number: int) -> tuple[str, str, str]:
    """(source id, name, billing email) of customer ``number``: the same for the source and the ledger."""
    return f"{prefix}C{number}", f"{prefix} Customer {number}", f"billing{number}@{prefix.lower()}.example"


def clean_job_rows(*, prefix: str, count: int, customers: int = 12, currency: str = "NZD") -> list[dict[str, str]]:
    """``count`` clean completed jobs: labour matching its time entry, a part, a note and a sign-off."""
    rows = []
    for n in range(count):
        c = n % customers
        start = datetime(2026, 11, 2, 8, 0) + timedelta(days=n // 40, minutes=(n % 40) * 11)
        end = start + timedelta(hours=1)
        base = _job(prefix, n, c, start, end, job_type="corrective", tz_offset="+13:00",
                    timezone="Pacific/Auckland", currency=currency)
        rows.append({**base, "line_kind": "labour", "item_code": "LAB", "description": "Labour", "quantity": "1",
                     "unit_price": "98.00", "unit_cost": "40.00", "taxable": "no", "notes": f"Job {n} done.",
                     "hours_start": start.strftime("%Y-%m-%d %H:%M"), "hours_end": end.strftime("%Y-%m-%d %H:%M")})
        rows.append({**base, "line_kind": "part", "item_code": "PART", "description": "Part",
                     "quantity": str(1 + n % 3),
                     "unit_price": f"{10 + n % 17}.{n % 100:02d}", "unit_cost": "5.00", "taxable": "yes"})
    return rows


def job_rows(*, prefix: str, count: int, customers: int, seed: int = 9, start_number: int = 0,
             timezone: str = "America/Chicago", tz_offset: str = "-06:00",
             currency: str = "USD") -> list[dict[str, str]]:
    """``count`` varied completed jobs over ``customers`` customers, the same for the same arguments."""
    rng = random.Random(f"{seed}|{prefix}|{start_number}")
    rows: list[dict[str, str]] = []
    for n in range(start_number, start_number + count):
        c = rng.randrange(customers)
        start = datetime(2026, 10, 1, 7, 0) + timedelta(days=n // 60, minutes=(n % 60) * 9)
        hours = rng.choice((1, 1, 1.5, 2, 3, 4))
        end = start + timedelta(hours=hours)
        base = _job(prefix, n, c, start, end, job_type=rng.choice(JOB_TYPES), tz_offset=tz_offset,
                    timezone=timezone, currency=currency, technician=f"Tech {1 + rng.randrange(25)}")
        rows.append({**base, "line_kind": "labour", "item_code": "LAB", "description": "Labour",
                     "quantity": f"{hours:.2f}", "unit_price": "125.00", "unit_cost": "45.00", "taxable": "no",
                     "notes": rng.choice(NOTES), "hours_start": start.strftime("%Y-%m-%d %H:%M"),
                     "hours_end": end.strftime("%Y-%m-%d %H:%M")})
        for code, description, price in rng.sample(PARTS, rng.randrange(4)):
            rows.append({**base, "line_kind": "part" if code == "PART" else "material", "item_code": code,
                         "description": description, "quantity": str(1 + rng.randrange(4)), "unit_price": price,
                         "unit_cost": f"{float(price) / 2:.2f}", "taxable": "yes"})
        if base["job_type"] == "emergency":
            rows.append({**base, "line_kind": "fee", "item_code": "FEE", "description": "Call-out fee",
                         "quantity": "1", "unit_price": "95.00", "taxable": "no"})
    return rows


def _job(prefix: str, n: int, c: int, start: datetime, end: datetime, *, job_type: str, tz_offset: str,
         timezone: str, currency: str, technician: str = "Tech One") -> dict[str, str]:
    customer_id, name, email = customer(prefix, c)
    return dict(job_id=f"{prefix}{40000 + n}", job_number=str(1000 + n), customer_id=customer_id, customer_name=name,
                customer_email=email, site_name=f"Site {c}", site_address=f"{c} Example St", job_type=job_type,
                priority="normal", status="completed",
                completed_at=(end + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M"),
                updated_at=(end + timedelta(minutes=30)).strftime(f"%Y-%m-%dT%H:%M:00{tz_offset}"),
                timezone=timezone, technician=technician, crew="Crew 1", signed_by=f"Signer {c}",
                signed_at=(end + timedelta(minutes=8)).strftime("%Y-%m-%d %H:%M"), currency=currency)


def write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write job rows as one CSV-drop file (folders are created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({key: row.get(key, "") for key in COLUMNS} for row in rows)
    return path


def csv_payloads(rows: Sequence[dict[str, Any]], *, file: str = "bench.csv") -> Iterator[dict[str, Any]]:
    """The payloads the CSV-drop source would land for these rows, one per job, in order."""
    jobs: dict[str, list[dict[str, Any]]] = {}
    for number, row in enumerate(rows, start=2):
        values = {key: row.get(key, "") for key in COLUMNS}
        jobs.setdefault(row["job_id"], []).append({"row": number, "values": values})
    for job_rows_ in jobs.values():
        yield {"file": file, "encoding": "utf-8", "rows": job_rows_}


def work_orders(rows: Sequence[dict[str, Any]], *, company: str, timezone: str = "America/Chicago") -> list[WorkOrder]:
    """The work orders the project's CSV mapping makes of ``rows`` (a bad row raises: generated data is clean)."""
    orders = []
    for payload in csv_payloads(rows):
        order = map_csv_job(payload, company=company, default_timezone=timezone)
        if not isinstance(order, WorkOrder):
            raise ValueError(f"generated job did not map: {order.summary}")
        orders.append(order)
    return orders


def xero_tables() -> MappingTables:
    """``TABLES`` for the Xero sandbox's seeded item codes and tax types."""
    return MappingTables(items={"LAB": "LABOUR", "PART": "PARTS", "MAT": "PARTS", "FEE": "LABOUR"},
                         default_items={"labour": "LABOUR", "part": "PARTS", "material": "PARTS", "fee": "LABOUR",
                                        "discount": "LABOUR"},
                         tax_codes={"taxable": "OUTPUT2", "exempt": "NONE"}, due_days=20)


def ready_drafts(orders: Iterable[WorkOrder], *, ledger: str, tables: MappingTables | None = None,
                 doc_prefix: str = "") -> list[InvoiceDraft]:
    """Invoice drafts for ``ledger`` built by the project's own draft builder from ``orders``."""
    tables = tables or (xero_tables() if ledger == "xero" else TABLES)
    tables = tables.model_copy(update={"doc_number_prefix": doc_prefix})
    drafts = []
    for order in orders:
        draft = build_draft(order, tables=tables, ledger=ledger)
        if not isinstance(draft, InvoiceDraft):
            raise ValueError(f"generated order has no draft: {draft.summary}")
        drafts.append(draft)
    return drafts
