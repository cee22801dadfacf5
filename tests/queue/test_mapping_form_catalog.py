"""The add-mapping form over HTTP: the ledger's codes to choose from, a code it lacks refused (422), an outage said."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from connectors.errors import RetriableError
from connectors.source_paging import SourcePage
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.users import Role
from exceptions_queue.web import create_app
from services.casework import StoreDesk
from services.config import CloseoutConfig
from services.intake import pull_source
from services.prepare import prepare_batch
from services.users import add_user, create_token
from tests.fakes import FakeRuntime, FakeSource, company_config, csv_job
from workorders.ports import LedgerCatalog

PASSWORD = "a long enough password"
CATALOG = LedgerCatalog(ledger="quickbooks", items={"1": "Labour", "2": "Parts", "4": "Service fee"},
                        tax_codes={"TAX": "TAX (Taxable)", "NON": "NON (Non-taxable)"})


@dataclass
class Site:
    app: FakeRuntime
    client: TestClient
    case_id: int
    token: str

    @property
    def ledger(self):
        return self.app.ledgers["acme"]

    def csrf(self) -> str:
        return self.client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    def add(self, value: str):
        return self.client.post(f"/cases/{self.case_id}/mapping", data={
            "csrf_token": self.csrf(), "table": "items", "key": "PUMP-9", "value": value})

    def overrides(self) -> dict:
        with self.app.store.unit_of_work() as uow:
            return uow.mapping_overrides.for_company("acme")


@pytest.fixture
def site(tmp_path) -> Iterator[Site]:
    job = csv_job("J1", "1001", line_kind="part", item_code="PUMP-9", description="Pump", unit_price="240.00")
    app = FakeRuntime(CloseoutConfig(companies=(company_config(),)), home=tmp_path,
                      sources={"csv-drop": FakeSource([SourcePage(jobs=(job,), next_cursor="p-1")])})
    company = app.config.company("acme")
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    add_user(app.store, "dana", Role.coordinator, PASSWORD, actor="test")
    token = create_token(app.store, "dana", label="test", actor="test")
    with app.store.unit_of_work() as uow:
        [case] = uow.cases.list(kinds=(CaseKind.missing_mapping,))
    with TestClient(create_app(StoreDesk(app), secret_key="form-test"), follow_redirects=False) as client:
        signed_in = client.post("/login", data={"username": "dana", "password": PASSWORD, "next": "/",
                                                "csrf_token": Site(app, client, case.id, token).csrf()})
        assert signed_in.status_code == 303
        yield Site(app, client, case.id, token)


def test_the_form_offers_each_ledger_item_with_its_name(site):
    site.ledger.offer_catalog(CATALOG)

    page = site.client.get(f"/cases/{site.case_id}").text

    assert 'list="ledger-items-1"' in page and '<datalist id="ledger-items-1" class="ledger-choices">' in page
    assert '<option value="2" label="2 · Parts">Parts</option>' in page
    assert "could not be read" not in page


def test_a_code_the_ledger_lacks_shows_the_form_again_with_the_reason_and_stores_nothing(site):
    site.ledger.offer_catalog(CATALOG)

    refused = site.add("Parts")

    assert refused.status_code == 422
    assert "did you mean 2 (Parts)?" in refused.text and 'role="alert"' in refused.text
    assert 'value="Parts" aria-invalid="true"' in refused.text  # what was typed is kept for correcting
    assert site.overrides() == {}
    with site.app.store.unit_of_work() as uow:
        assert uow.cases.get(site.case_id).status is CaseStatus.open


def test_a_code_the_ledger_has_is_stored_and_the_case_page_follows(site):
    site.ledger.offer_catalog(CATALOG)

    added = site.add("2")

    assert added.status_code == 303 and added.headers["location"] == f"/cases/{site.case_id}"
    assert site.overrides() == {"items": {"PUMP-9": "2"}}


def test_during_an_outage_the_form_warns_and_the_typed_code_is_stored_unchecked(site):
    site.ledger.offer_catalog(RetriableError("cannot connect", system="quickbooks", operation="read_catalog Item"))

    page = site.client.get(f"/cases/{site.case_id}").text
    added = site.add("2")

    assert "could not be read" in page and "cannot connect" in page and "ledger-choices" not in page
    assert added.status_code == 303 and site.overrides() == {"items": {"PUMP-9": "2"}}


def test_the_json_api_refuses_a_code_the_ledger_lacks_with_422_and_the_reason(site):
    site.ledger.offer_catalog(CATALOG)
    auth = {"Authorization": f"Bearer {site.token}"}

    refused = site.client.post(f"/api/cases/{site.case_id}/decisions", headers=auth, json={
        "decision": "add_mapping", "table": "items", "key": "PUMP-9", "value": "Parts"})
    shown = site.client.get(f"/api/cases/{site.case_id}", headers=auth).json()

    assert refused.status_code == 422 and "did you mean 2 (Parts)?" in refused.json()["error"]
    assert site.overrides() == {}
    assert shown["ledger_choices"] == {"items": {"1": "Labour", "2": "Parts", "4": "Service fee"}}
