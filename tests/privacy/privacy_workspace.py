"""The privacy tests' workspace: a real pipeline run (CSV drop, field mail, the QBO sandbox) on any store.

The people: Ana Lima (ana@lima.example) has job 5001, invoiced, whose photo she mailed, and job 5002, not signed
off (its case is open); Ben Ortiz's invoiced job 5003 has a note naming her; Cara Diaz's job 5004 was cancelled
(no invoice); Dev Rao's job 5005 is invoiced, with a technician's photo by mail. Ana also mailed a question that
names no job (an unmatched case), the technician wrote to her (unmatched too: only its raw copy names her), and
her job 5006 does not map (quantity "two": an invalid payload case).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from closeout.wiring import open_app
from exceptions_queue.service import CaseQueue
from reliability.worker import Pass
from reliability.workload import COLUMNS, REALM
from storage.tables import mail_messages, metadata, raw_payloads

ANA, ANA_EMAIL = "Ana Lima", "ana@lima.example"
CLOSEOUT = str(Path(sys.executable).with_name("closeout"))
CONFIG = f"""
[[companies]]
id = "acme"
name = "Acme Heating"
timezone = "UTC"
currency = "USD"
[companies.ledger]
kind = "quickbooks"
realm_id = "{REALM}"
create_customers = true
[[companies.sources]]
kind = "csv"
name = "csv-drop"
path = "jobs"
[[companies.mailboxes]]
kind = "maildir"
name = "field"
path = "maildir"
[companies.mappings]
items = {{ "LAB" = "1" }}
tax_codes = {{ taxable = "TAX", exempt = "NON" }}
"""
PHOTO = b"\x89PNG\r\n\x1a\n" + b"ana's kitchen" * 20
AFTER = b"\x89PNG\r\n\x1a\n" + b"dev's boiler" * 20


def _job(number: int, customer: str, email: str, *, signed: bool = True, status: str = "completed",
         notes: str = "") -> dict[str, str]:
    row = dict(job_id=f"J{number}", job_number=str(number), customer_id=f"C-{customer.split()[0]}",
               customer_name=customer, customer_email=email, site_name=f"{customer.split()[1]} house",
               site_address=f"{number % 100} Harbour Road", site_city="Springfield", job_type="corrective",
               status=status, completed_at="2026-03-02 15:00", updated_at="2026-03-02T16:00:00+00:00",
               timezone="UTC", technician="Tech One", currency="USD", line_kind="labour", item_code="LAB",
               description="Repair", quantity="1", unit_price="120.00", taxable="no", notes=notes,
               signed_by=customer if signed else "", signed_at="2026-03-02 15:10" if signed else "")
    return {key: row.get(key, "") for key in COLUMNS}


def _message(number: int, sender: str, subject: str, body: str, *, to: str = "field@acme.example",
             attachment: tuple[str, bytes] | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = "Tue, 03 Mar 2026 09:00:00 +0000"
    message["Message-ID"] = f"<privacy-{number}@acme.example>"
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment[1], maintype="image", subtype="png", filename=attachment[0])
    return message.as_bytes()


def write_workspace(home: Path) -> None:
    """The config, two CSV files (job 5002 changes in the second: two payload revisions) and five messages."""
    (home / "jobs").mkdir(parents=True)
    first = [_job(5001, ANA, ANA_EMAIL), _job(5002, ANA, ANA_EMAIL, signed=False, notes="Gate code 1234"),
             _job(5003, "Ben Ortiz", "ben@ortiz.example", notes=f"Referred by {ANA}, his neighbour"),
             _job(5004, "Cara Diaz", "cara@diaz.example", status="cancelled"),
             _job(5005, "Dev Rao", "dev@rao.example"), {**_job(5006, ANA, ANA_EMAIL), "quantity": "two"}]
    second = [_job(5002, ANA, ANA_EMAIL, signed=False, notes="Gate code 4321")]
    for name, rows in (("jobs-1.csv", first), ("jobs-2.csv", second)):
        with (home / "jobs" / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    for sub in ("cur", "tmp", "new"):
        (home / "maildir" / sub).mkdir(parents=True)
    messages = [
        _message(1, f"{ANA} <{ANA_EMAIL}>", "Job #5001 photo", "Here is the kitchen, call me on 021 555 0199.",
                 attachment=("kitchen.png", PHOTO)),
        _message(2, "Tech One <tech@acme.example>", "Job #5005 notes", "Boiler replaced.",
                 attachment=("after.png", AFTER)),
        _message(3, f"{ANA} <{ANA_EMAIL}>", "A question about my bill", "Why so much? Ana"),
        _message(4, "Tech One <tech@acme.example>", "Job #5002 notes", "Waiting for the customer to sign."),
        _message(5, "Tech One <tech@acme.example>", "Your appointment", "See you on Tuesday.",
                 to=f"{ANA} <{ANA_EMAIL}>"),
    ]
    for n, raw in enumerate(messages, start=1):
        (home / "maildir" / "new" / f"{n}.privacy").write_bytes(raw)
    (home / "closeout.toml").write_text(CONFIG, encoding="utf-8")


@dataclass(frozen=True)
class Workspace:
    home: Path
    database_url: str

    @contextmanager
    def app(self) -> Iterator:
        """The runtime on this workspace (the environment pointed at it while it is open)."""
        with pytest.MonkeyPatch.context() as env:
            env.setenv("CLOSEOUT_HOME", str(self.home))
            env.setenv("CLOSEOUT_DATABASE_URL", self.database_url)
            env.setenv("CLOSEOUT_LEDGER_TIME_SCALE", "60")
            env.delenv("CLOSEOUT_CONFIG", raising=False)
            with open_app(config_path=self.home / "closeout.toml") as app:
                yield app

    def run(self, passes: int = 2) -> None:
        with self.app() as app:
            for _ in range(passes):
                Pass(app, self.home / "errors.log", stale=timedelta(minutes=10)).run()
        assert not (self.home / "errors.log").exists(), (self.home / "errors.log").read_text()

    def query(self, statement) -> list:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.begin() as connection:
                result = connection.execute(statement)
                return result.all() if result.returns_rows else []
        finally:
            engine.dispose()

    def rows(self, table: sa.Table) -> list[tuple]:
        return [tuple(row) for row in self.query(sa.select(table))]

    def mentions(self, *needles: str, skip: tuple[str, ...] = ()) -> dict[str, list[str]]:
        """Per table (those in ``skip`` left out), the rows whose text contains one of ``needles`` (any case)."""
        found: dict[str, list[str]] = {}
        for table in metadata.sorted_tables:
            if table.name in skip:
                continue
            for row in self.rows(table):
                text = " ".join(json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)
                                for value in row).lower()
                if any(needle.lower() in text for needle in needles):
                    found.setdefault(table.name, []).append(text[:160])
        return found

    def files_naming(self, *needles: bytes) -> list[str]:
        """Kept files (raw mail, attachments, the store's SQLite file aside) whose bytes contain a needle."""
        kept = [path for folder in ("mail", "attachments") for path in (self.home / folder).rglob("*")
                if path.is_file()]
        return sorted(str(path.relative_to(self.home)) for path in kept
                      if any(needle.lower() in path.read_bytes().lower() for needle in needles))

    def ignore_case(self, case_id: int, note: str = "decided: nothing more to do") -> None:
        with self.app() as app, app.store.unit_of_work() as uow:
            CaseQueue(uow.cases).ignore(case_id, actor="coordinator", note=note)
            uow.commit()

    def set_retention(self, *, everywhere: int | None = None, company: int | None = None) -> None:
        """Write ``retention_days`` into the config: top-level, or the company's own."""
        text = CONFIG.replace('currency = "USD"\n', f'currency = "USD"\nretention_days = {company}\n', 1) \
            if company is not None else CONFIG
        if everywhere is not None:
            text = f"retention_days = {everywhere}\n" + text
        (self.home / "closeout.toml").write_text(text, encoding="utf-8")

    def send_notices(self) -> None:
        """Give the company e-mail notifications (``[companies.notify]``, added to the config as it stands)."""
        with (self.home / "closeout.toml").open("a", encoding="utf-8") as handle:
            handle.write('[companies.notify]\nsmtp_host = "127.0.0.1"\nsmtp_security = "plain"\n'
                         'sender = "desk@acme.example"\nreply_to = "field@acme.example"\n')

    def age(self, days: int) -> None:
        """Make every payload and message look received ``days`` earlier (what waiting that long would do)."""
        for table, columns in ((raw_payloads, ("received_at", "last_received_at")), (mail_messages, ("received_at",))):
            for row in self.query(sa.select(table.c.id, *(table.c[name] for name in columns))):
                self.query(sa.update(table).where(table.c.id == row.id).values(
                    {name: getattr(row, name) - timedelta(days=days) for name in columns}))

    def closeout(self, *args: str):
        """`closeout ARGS` in a child process: an in-process run sets up Prefect logging later tests trip on."""
        env = {**os.environ, "CLOSEOUT_HOME": str(self.home), "CLOSEOUT_DATABASE_URL": self.database_url,
               "CLOSEOUT_CONFIG": str(self.home / "closeout.toml"), "COLUMNS": "200", "NO_COLOR": "1"}
        env.pop("PREFECT_API_URL", None)
        return subprocess.run([CLOSEOUT, *args], capture_output=True, text=True, env=env, timeout=300)
