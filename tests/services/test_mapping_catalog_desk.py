"""The add-mapping decision on fakes: the ledger's codes offered, a code it lacks refused, an outage noted."""

from __future__ import annotations

import pytest

from connectors.errors import RetriableError
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import CaseFilters, DecisionError
from exceptions_queue.users import Role, User
from services.casework import StoreDesk
from services.intake import pull_source
from services.prepare import prepare_batch
from tests.fakes import csv_job
from workorders.ports import LedgerCatalog

DANA = User(username="dana", role=Role.coordinator)
CATALOG = LedgerCatalog(ledger="quickbooks", items={"1": "Labour", "2": "Parts", "4": "Service fee"},
                        tax_codes={"TAX": "TAX (Taxable)", "NON": "NON (Non-taxable)"}, accounts={"1": "Services"})


@pytest.fixture
def desk(app, company, feed) -> StoreDesk:
    feed([csv_job("J1", "1001", line_kind="part", item_code="PUMP-9", description="Pump", unit_price="240.00")])
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    return StoreDesk(app)


def missing_case(desk: StoreDesk):
    [case] = desk.list_cases(CaseFilters(kinds=(CaseKind.missing_mapping,)))
    return case


def test_the_case_offers_the_ledgers_own_items_for_the_missing_entry(app, company, desk):
    app.ledger_for(company).offer_catalog(CATALOG)

    context = desk.context(missing_case(desk).id)

    assert context.ledger_choices == {"items": {"1": "Labour", "2": "Parts", "4": "Service fee"}}
    assert context.ledger_note == ""


def test_a_code_the_ledger_does_not_have_is_refused_with_the_likely_one_and_nothing_is_stored(app, company, desk):
    app.ledger_for(company).offer_catalog(CATALOG)
    case = missing_case(desk)

    with pytest.raises(DecisionError) as refused:
        desk.add_mapping(case.id, actor=DANA, table="items", key="PUMP-9", value="Parts")

    assert str(refused.value) == ("items[PUMP-9] = 'Parts': QuickBooks has no item 'Parts'; did you mean 2 (Parts)? "
                                  "Nothing was stored: choose from the QuickBooks item list.")
    with app.store.unit_of_work() as uow:
        assert uow.mapping_overrides.for_company("acme") == {}
    after = desk.context(case.id).case
    assert after.status is CaseStatus.open and "mapping_added" not in [h.action for h in after.history]
    assert app.ledger_for(company).invoices == {}


def test_a_code_the_ledger_has_is_stored_and_the_job_is_pushed(app, company, desk):
    app.ledger_for(company).offer_catalog(CATALOG)
    case = missing_case(desk)

    done = desk.add_mapping(case.id, actor=DANA, table="items", key="PUMP-9", value="2")

    assert done.status is CaseStatus.resolved
    assert [i.doc_number for i in app.ledger_for(company).invoices.values()] == ["AC-1001"]
    [added] = [h for h in done.history if h.action == "mapping_added"]
    assert added.note == "items: PUMP-9 → 2"


def test_an_item_made_in_the_ledger_after_the_page_was_shown_is_found_in_a_fresh_read(app, company, desk):
    ledger = app.ledger_for(company)
    ledger.offer_catalog(CATALOG)
    case = missing_case(desk)
    desk.context(case.id)  # the page: the catalog is now kept
    ledger.offer_catalog(LedgerCatalog(ledger="quickbooks", items={**CATALOG.items, "9": "Pumps"},
                                       tax_codes=CATALOG.tax_codes))

    done = desk.add_mapping(case.id, actor=DANA, table="items", key="PUMP-9", value="9")

    assert done.status is CaseStatus.resolved and ledger.calls.count("read_catalog") == 2


def test_during_an_outage_the_form_says_so_and_the_entry_is_stored_unchecked(app, company, desk):
    app.ledger_for(company).offer_catalog(RetriableError("cannot connect", system="quickbooks",
                                                         operation="read_catalog Item"))
    case = missing_case(desk)

    context = desk.context(case.id)
    done = desk.add_mapping(case.id, actor=DANA, table="items", key="PUMP-9", value="2")

    assert context.ledger_choices == {} and "cannot connect" in context.ledger_note
    [added] = [h for h in done.history if h.action == "mapping_added"]
    assert added.note.startswith("items: PUMP-9 → 2 (not checked against the ledger: RetriableError")
    with app.store.unit_of_work() as uow:
        assert uow.mapping_overrides.for_company("acme") == {"items": {"PUMP-9": "2"}}


def test_a_customer_mapping_is_not_refused_for_want_of_a_customer_list(app, company, desk):
    app.ledger_for(company).offer_catalog(CATALOG)

    done = desk.add_mapping(missing_case(desk).id, actor=DANA, table="customers", key="C-1", value="C42")

    [added] = [h for h in done.history if h.action == "mapping_added"]
    assert added.note == "customers: C-1 → C42"


def test_an_income_account_may_be_added_and_is_checked_against_the_ledgers_accounts(app, company, desk):
    app.ledger_for(company).offer_catalog(CATALOG)
    case = missing_case(desk)

    with pytest.raises(DecisionError, match="QuickBooks has no income account 'Sales'"):
        desk.add_mapping(case.id, actor=DANA, table="income_accounts", key="part", value="Sales")
    desk.add_mapping(case.id, actor=DANA, table="income_accounts", key="part", value="1")

    with app.store.unit_of_work() as uow:
        assert uow.mapping_overrides.for_company("acme") == {"income_accounts": {"part": "1"}}
