"""The changed_after_invoiced case page shows what would change, the invoice's payment state and the plan."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from connectors.source_paging import SourcePage
from exceptions_queue.cases import CaseKind
from exceptions_queue.users import Role
from exceptions_queue.web import create_app
from services.casework import StoreDesk
from services.config import CloseoutConfig
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from services.users import add_user
from tests.fakes import FakeRuntime, FakeSource, company_config, csv_job
from workorders.payments import PaymentReading, PaymentState

PASSWORD = "a long enough password"


def test_a_paid_invoice_whose_job_changed_shows_its_diff_and_a_supplementary_invoice_as_the_plan(tmp_path):
    first = csv_job("J1", "1001", updated_at="2026-11-16 10:00")
    source = FakeSource([SourcePage(jobs=(first,), next_cursor="p-1")])
    app = FakeRuntime(CloseoutConfig(companies=(company_config(),)), home=tmp_path, sources={"csv-drop": source})
    company = app.config.company("acme")
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    assert push_batch(app, company, limit=10).pushed == 1
    with app.store.unit_of_work() as uow:
        [record] = uow.push_records.all()
        uow.push_records.note_payments([PaymentReading(record.idempotency_key, PaymentState.paid, Decimal("0.00"),
                                                       "USD")])
        uow.commit()
    dearer = csv_job("J1", "1001", updated_at="2026-11-17 08:00", unit_price=str(record.amount + Decimal("25.00")))
    source.pages = [SourcePage(jobs=(dearer,), next_cursor="p-2")]
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-2")
    with app.store.unit_of_work() as uow:
        [case] = uow.cases.list(kinds=(CaseKind.changed_after_invoiced,))
    add_user(app.store, "dana", Role.coordinator, PASSWORD, actor="test")

    with TestClient(create_app(StoreDesk(app), secret_key="plan-test"), follow_redirects=False) as client:
        csrf = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"username": "dana", "password": PASSWORD, "next": "/", "csrf_token": csrf})
        page = client.get(f"/cases/{case.id}").text

    assert "What would change on the invoice" in page and "increased by 25.00" in page
    assert 'Payment in the ledger: <span class="status paid">paid</span>' in page
    assert f"<li>supplementary invoice {record.doc_number}-A for 25.00 before tax" in page
