"""The campaign's generated workload: a two-company config, a CSV drop, Jobber jobs and field mail, from a seed."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

COLUMNS = ("job_id,job_number,customer_id,customer_name,customer_email,site_name,site_address,job_type,priority,"
           "status,completed_at,updated_at,timezone,technician,crew,line_kind,item_code,description,quantity,"
           "unit_price,unit_cost,taxable,hours_start,hours_end,signed_by,signed_at,approved_by,approved_at,notes,"
           "po_number,currency,billing,photos_before,photos_after").split(",")
REALM, TENANT = "9130300099", "c3f1d2e0-5a4f-4c3e-9d8b-campaign0xero"
CSV_COMPANY, JOBBER_COMPANY = "qbo-co", "xero-co"
FIRST_CSV_JOB = 10_000


@dataclass(frozen=True)
class Workload:
    csv_jobs: int
    jobber_jobs: int
    messages: int
    seed: int = 7

    @property
    def jobs(self) -> int:
        return self.csv_jobs + self.jobber_jobs


def write_config(home: Path, *, jobber_url: str, imap_port: int, ca_file: str, username: str,
                 ledger_timeout: float, settle_seconds: float = 2.0, max_message_bytes: int = 3_000_000,
                 max_attachment_bytes: int = 1_000_000, name: str = "campaign.toml") -> Path:
    """The campaign's config: a QBO company fed by a CSV drop and IMAP, a Xero company fed by Jobber."""
    config = home / name
    config.write_text(f"""
[[companies]]
id = "{CSV_COMPANY}"
name = "Campaign QBO"
timezone = "Pacific/Auckland"
currency = "USD"  # the sandbox realm is a US company
[companies.ledger]
kind = "quickbooks"
realm_id = "{REALM}"
create_customers = true
timeout_seconds = {ledger_timeout}
[[companies.sources]]
kind = "csv"
name = "csv-drop"
path = "jobs"
settle_seconds = {settle_seconds}  # the CSV faults leave a row unfinished for less than this, and cut one for good
[[companies.mailboxes]]
kind = "imap"
name = "field"
host = "127.0.0.1"
port = {imap_port}
username = "{username}"
security = "ssl"
ca_file = "{ca_file}"
batch_size = 25
connect_timeout = 3
read_timeout = 10
max_message_bytes = {max_message_bytes}  # the hostile mail holds a message over it, and an attachment over the next
max_attachment_bytes = {max_attachment_bytes}
trusted_authserv_ids = ["mx.q.example"]  # the receiving server whose verdict the forged hostile mail carries
[companies.corrections]
apply = "all"  # the later corrections of the campaign are applied by the workers, under every fault
[companies.mappings]
doc_number_prefix = "Q-"
items = {{ "LAB" = "1", "PART" = "2" }}
tax_codes = {{ taxable = "TAX", exempt = "NON" }}

[[companies]]
id = "{JOBBER_COMPANY}"
name = "Campaign Xero"
timezone = "Pacific/Auckland"
currency = "NZD"
[companies.ledger]
kind = "xero"
tenant_id = "{TENANT}"
create_customers = true
timeout_seconds = {ledger_timeout}
[[companies.sources]]
kind = "jobber"
name = "jobber"
api_url = "{jobber_url}"
page_size = 100
[companies.mappings]
doc_number_prefix = "X-"
items = {{ "LAB-STD" = "LABOUR", "PART-A" = "PARTS", "PART-B" = "PARTS" }}
tax_codes = {{ taxable = "OUTPUT2", exempt = "NONE" }}
due_days = 20
""", encoding="utf-8")
    return config


def csv_rows(n: int, rng: random.Random) -> list[dict[str, str]]:
    """Rows of CSV job ``n``: mostly clean and signed; some unsigned (a case), cancelled (no invoice) or broken."""
    c = n % 40
    start = datetime(2026, 11, 2, 8, 0) + timedelta(days=n // 40, minutes=(n % 40) * 11)
    end = start + timedelta(hours=1)
    roll = rng.random()
    status = "cancelled" if roll < 0.04 else "completed"
    signed = roll >= 0.08
    quantity = "two" if 0.08 <= roll < 0.10 else str(1 + n % 3)
    base = dict(job_id=f"Q{FIRST_CSV_JOB + n}", job_number=str(FIRST_CSV_JOB + n), customer_id=f"QC{c}",
                customer_name=f"Q Customer {c}", customer_email=f"billing{c}@q.example", site_name=f"Site {c}",
                site_address=f"{c} Example St", job_type="corrective", priority="normal", status=status,
                completed_at=(end + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M"),
                updated_at=(end + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:00+13:00"),
                timezone="Pacific/Auckland", technician="Tech One", crew="Crew 1", currency="USD",
                signed_by=f"Signer {c}" if signed else "",
                signed_at=(end + timedelta(minutes=8)).strftime("%Y-%m-%d %H:%M") if signed else "")
    return [{**base, "line_kind": "labour", "item_code": "LAB", "description": "Labour", "quantity": "1",
             "unit_price": "98.00", "unit_cost": "40.00", "taxable": "no", "notes": f"Job {n} done.",
             "hours_start": start.strftime("%Y-%m-%d %H:%M"), "hours_end": end.strftime("%Y-%m-%d %H:%M")},
            {**base, "line_kind": "part", "item_code": "PART", "description": "Part", "quantity": quantity,
             "unit_price": f"{10 + n % 17}.{n % 100:02d}", "unit_cost": "5.00", "taxable": "yes"}]


def write_csv_drop(folder: Path, count: int, *, seed: int, files: int = 10) -> None:
    """``count`` jobs spread over ``files`` CSV files in the drop folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    per_file = max(1, -(-count // files))
    for first in range(0, count, per_file):
        with (folder / f"jobs-{first:06d}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for n in range(first, min(count, first + per_file)):
                writer.writerows({key: row.get(key, "") for key in COLUMNS} for row in csv_rows(n, rng))


def field_message(n: int, *, jobs: int, rng: random.Random) -> bytes:
    """Message ``n``: most name a CSV job ("Job #10042"); some name none (an unmatched case), some are junk."""
    message = EmailMessage()
    message["From"] = "Tech One <tech@q.example>"
    message["To"] = "field@q.example"
    message["Date"] = format_datetime(datetime(2026, 11, 20, 9, 0).astimezone())
    message["Message-ID"] = f"<campaign-{n}@van.q.example>"
    roll = rng.random()
    if roll < 0.9:
        message["Subject"] = f"Job #{FIRST_CSV_JOB + rng.randrange(jobs)} notes"
        message.set_content(f"Note {n}: replaced the part, customer happy.")
    else:
        message["Subject"] = f"Van stock check {n}"
        message.set_content("Nothing to do with any job.")
    return message.as_bytes().replace(b"\n", b"\r\n")


def write_maildir(maildir: Path, count: int, *, jobs: int, seed: int, uid: int, gid: int) -> None:
    """Deliver ``count`` messages straight into a Maildir ``new/`` folder (Dovecot indexes them on first read)."""
    import os

    rng = random.Random(seed + 1)
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        path = maildir / "new" / f"{1_700_000_000 + n}.M{n}P1.campaign"
        path.write_bytes(field_message(n, jobs=max(1, jobs), rng=rng))
        os.chown(path, uid, gid)
    for folder in (maildir, maildir.parent, *(maildir / sub for sub in ("cur", "new", "tmp"))):
        os.chown(folder, uid, gid)
