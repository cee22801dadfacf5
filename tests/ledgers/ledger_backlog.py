"""Helpers for the backlog tests: a config with one company per ledger and a CSV backlog of N clean jobs each."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

COLUMNS = ("job_id,job_number,customer_id,customer_name,customer_email,site_name,site_address,job_type,priority,"
           "status,completed_at,updated_at,timezone,technician,crew,line_kind,item_code,description,quantity,"
           "unit_price,unit_cost,taxable,hours_start,hours_end,signed_by,signed_at,approved_by,approved_at,notes,"
           "po_number,currency,billing,photos_before,photos_after").split(",")
TENANT = "b7e2c1d0-5a4f-4c3e-9d8b-backlog0xero"
REALM = "9130300077"

CONFIG = f"""
[[companies]]
id = "qbo-co"
name = "Backlog QBO"
timezone = "Pacific/Auckland"
currency = "NZD"
[companies.ledger]
kind = "quickbooks"
realm_id = "{REALM}"
create_customers = true
[[companies.sources]]
kind = "csv"
name = "csv-qbo"
path = "jobs-qbo"
[companies.mappings]
doc_number_prefix = "Q-"
items = {{ "LAB" = "1", "PART" = "2" }}
tax_codes = {{ taxable = "TAX", exempt = "NON" }}

[[companies]]
id = "xero-co"
name = "Backlog Xero"
timezone = "Pacific/Auckland"
currency = "NZD"
[companies.ledger]
kind = "xero"
tenant_id = "{TENANT}"
create_customers = true
[[companies.sources]]
kind = "csv"
name = "csv-xero"
path = "jobs-xero"
[companies.mappings]
doc_number_prefix = "X-"
items = {{ "LAB" = "LABOUR", "PART" = "PARTS" }}
tax_codes = {{ taxable = "OUTPUT", exempt = "NONE" }}
"""


def write_jobs(folder: Path, *, prefix: str, count: int, customers: int = 12) -> None:
    """``count`` clean completed jobs (labour matching its time entry, a part, a note and a sign-off)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in range(count):
        c = n % customers
        start = datetime(2026, 11, 2, 8, 0) + timedelta(days=n // 40, minutes=(n % 40) * 11)
        end = start + timedelta(hours=1)
        base = dict(job_id=f"{prefix}{40000 + n}", job_number=str(1000 + n), customer_id=f"{prefix}C{c}",
                    customer_name=f"{prefix} Customer {c}", customer_email=f"billing{c}@{prefix.lower()}.example",
                    site_name=f"Site {c}", site_address=f"{c} Example St", job_type="corrective", priority="normal",
                    status="completed", completed_at=(end + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M"),
                    updated_at=(end + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:00+13:00"),
                    timezone="Pacific/Auckland", technician="Tech One", crew="Crew 1", signed_by=f"Signer {c}",
                    signed_at=(end + timedelta(minutes=8)).strftime("%Y-%m-%d %H:%M"), currency="NZD")
        rows.append({**base, "line_kind": "labour", "item_code": "LAB", "description": "Labour", "quantity": "1",
                     "unit_price": "98.00", "unit_cost": "40.00", "taxable": "no", "notes": f"Job {n} done.",
                     "hours_start": start.strftime("%Y-%m-%d %H:%M"), "hours_end": end.strftime("%Y-%m-%d %H:%M")})
        rows.append({**base, "line_kind": "part", "item_code": "PART", "description": "Part", "quantity": str(1 + n % 3),
                     "unit_price": f"{10 + n % 17}.{n % 100:02d}", "unit_cost": "5.00", "taxable": "yes"})
    with (folder / f"{prefix.lower()}-backlog.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({key: row.get(key, "") for key in COLUMNS} for row in rows)


def write_backlog(home: Path, *, per_company: int) -> Path:
    write_jobs(home / "jobs-qbo", prefix="Q", count=per_company)
    write_jobs(home / "jobs-xero", prefix="X", count=per_company)
    config = home / "backlog.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return config
