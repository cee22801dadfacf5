"""The queue site the security tests attack: hostile text in every field that comes from outside, four users."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from closeout.wiring import App
from closeout.workspace import BUNDLED_DEMO_CONFIG
from exceptions_queue.cases import CaseKind
from exceptions_queue.service import CaseQueue
from exceptions_queue.users import Role
from workorders.anomalies import Anomaly

PASSWORD = "a long enough password"
ROLES = {"vic": Role.viewer, "dana": Role.coordinator, "fin": Role.finance, "ada": Role.admin}


def hostile(where: str) -> str:
    """A different attack for each field, named after it, so a failure says which field was not escaped."""
    attacks = [f"<script>alert('{where}')</script>", f'"><img src=x onerror=alert("{where}")>',
               f"'><svg onload=alert('{where}')>"]
    return attacks[sum(map(ord, where)) % len(attacks)]


HOSTILE_FIELDS = ("customer_name", "site_name", "description", "notes", "po_number", "email_from", "email_subject",
                  "email_body", "email_why", "attachment_name", "ledger_message", "ledger_detail", "case_summary",
                  "comment", "tag")
JOB_COLUMNS = ("job_id,job_number,customer_id,customer_name,customer_email,site_name,site_address,job_type,priority,"
               "status,completed_at,updated_at,timezone,technician,crew,line_kind,item_code,description,quantity,"
               "unit_price,unit_cost,taxable,hours_start,hours_end,signed_by,signed_at,approved_by,approved_at,notes,"
               "po_number,currency,billing,photos_before,photos_after").split(",")


@dataclass
class Site:
    """The UI app over a real store, with the case ids of each hostile kind and a client per role."""

    app: App
    web: FastAPI
    cases: dict[str, int]
    tokens: dict[str, str]
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)

    def client(self, role: str | None = None, **options) -> TestClient:
        """A client signed in as ``role`` (its module-wide session cookie), or anonymous."""
        options.setdefault("follow_redirects", False)
        return TestClient(self.web, cookies=self.sessions.get(role or "", {}), **options)

    def csrf(self, client: TestClient) -> str:
        """The session's CSRF token, read from a page's hidden field."""
        return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    html = client.get("/login").text
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def sign_in(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(client),
                                       "next": "/"})


def _hostile_job(path: Path) -> None:
    row = dict.fromkeys(JOB_COLUMNS, "")
    row.update(job_id="JX1", job_number="9001", customer_id="C-X1", customer_name=hostile("customer_name"),
               customer_email="x@example.com", site_name=hostile("site_name"), site_address="1 Main St",
               job_type="preventive", priority="normal", status="completed", completed_at="2026-11-02 11:10",
               updated_at="2026-11-02T11:35:00-06:00", timezone="America/Chicago", technician="Dana Ruiz",
               crew="Crew A", line_kind="part", item_code="UNMAPPED-9", description=hostile("description"),
               quantity="1", unit_price="10.00", taxable="no", signed_by="Kelly", signed_at="2026-11-02 11:13",
               notes=hostile("notes"), po_number=hostile("po_number"), currency="USD")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=JOB_COLUMNS)
    writer.writeheader()
    writer.writerow(row)
    path.write_text(out.getvalue(), encoding="utf-8")


def site_config(root: Path) -> Path:
    demo = BUNDLED_DEMO_CONFIG.parent
    for folder in ("jobs", "jobs-harbour", "mail/new", "mail/cur", "mail/tmp"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    _hostile_job(root / "jobs" / "hostile.csv")
    text = BUNDLED_DEMO_CONFIG.read_text(encoding="utf-8")
    for old, new in (('"mapping_tables.toml"', f'"{demo / "mapping_tables.toml"}"'),
                     ('"xero_mapping_tables.toml"', f'"{demo / "xero_mapping_tables.toml"}"'),
                     ('path = "jobs"', f'path = "{root / "jobs"}"'),
                     ('path = "jobs-harbour"', f'path = "{root / "jobs-harbour"}"'),
                     ('path = "mail/northwind"', f'path = "{root / "mail"}"')):
        text = text.replace(old, new)
    target = root / "closeout.toml"
    target.write_text(text, encoding="utf-8")
    return target


def hostile_cases(app: App) -> dict[str, int]:
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases)
        email, _ = queue.open_case(Anomaly(
            code=CaseKind.unmatched_email, subject="<hostile@example.com>", company="northwind",
            summary=hostile("case_summary"),
            evidence={"email": {"from": hostile("email_from"), "subject": hostile("email_subject"),
                                "excerpt": hostile("email_body"), "why": hostile("email_why"),
                                "attachments": [{"filename": hostile("attachment_name")}]}}))
        rejected, _ = queue.open_case(Anomaly(
            code=CaseKind.ledger_rejected, subject="invoice 9001", company="northwind", summary="The ledger refused",
            evidence={"code": "6000", "message": hostile("ledger_message"), "detail": hostile("ledger_detail")}))
        uow.commit()
    with app.store.unit_of_work() as uow:
        found = uow.cases.list(kinds=(CaseKind.missing_mapping,))
    job_case = next(c.id for c in found if "UNMAPPED-9" in c.summary)
    return {"email": email.id, "rejected": rejected.id, "job": job_case}
