"""Helpers for the backlog tests: a config with one company per ledger and a CSV backlog of N clean jobs each."""

from __future__ import annotations

from pathlib import Path

from bench.generate import clean_job_rows, write_csv

TENANT = "b7e2c1d0-5a4f-4c3e-9d8b-backlog0xero"
REALM = "9130300077"

CONFIG = f"""
[[companies]]
id = "qbo-co"
name = "Backlog QBO"
timezone = "Pacific/Auckland"
currency = "USD"  # the sandbox realm is a US company
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
tax_codes = {{ taxable = "OUTPUT2", exempt = "NONE" }}
due_days = 20
"""


def write_jobs(folder: Path, *, prefix: str, count: int, customers: int = 12, currency: str = "NZD") -> None:
    """``count`` clean completed jobs (labour matching its time entry, a part, a note and a sign-off)."""
    write_csv(folder / f"{prefix.lower()}-backlog.csv",
              clean_job_rows(prefix=prefix, count=count, customers=customers, currency=currency))


def write_backlog(home: Path, *, per_company: int) -> Path:
    write_jobs(home / "jobs-qbo", prefix="Q", count=per_company, currency="USD")
    write_jobs(home / "jobs-xero", prefix="X", count=per_company)
    config = home / "backlog.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def pushed_records(app, company: str) -> list:
    """The company's push records, by doc number."""
    with app.store.unit_of_work() as uow:
        return sorted((r for r in uow.push_records.all() if r.company == company), key=lambda r: r.doc_number)
