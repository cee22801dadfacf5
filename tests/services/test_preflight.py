"""Preflight: mapping codes checked against a hand-built ledger catalog, the catalog kept a few minutes, and doctor."""

from __future__ import annotations

from decimal import Decimal

from connectors.errors import RetriableError
from mappings.company_tables import MappingTables
from exceptions_queue.cases import CaseStatus
from services.doctor import check_mappings
from services.health import check_company, record_problems
from workorders.anomalies import AnomalyCode
from services.preflight import (KIND_NOT_IN_LEDGER, NOT_LISTABLE, READ, UNREADABLE, CatalogCache, close_matches,
                                find_unknown_codes, unknown_code)
from workorders.ports import LedgerCatalog

QBO = LedgerCatalog(
    ledger="quickbooks", items={"1": "Labour", "2": "Parts", "3": "Materials", "4": "Service fee"},
    tax_codes={"TAX": "TAX (Taxable)", "NON": "NON (Non-taxable)"}, tax_code_rates={}, accounts={"1": "Services"},
    classes={"10": "Residential"}, departments={"20": "North yard"}, terms={"3": "Net 30"}, tracking=None)
XERO = LedgerCatalog(
    ledger="xero", items={"LABOUR": "Labour", "PARTS": "Parts"}, tax_codes={"OUTPUT2": "GST on Income (15%)"},
    tax_code_rates={"OUTPUT2": Decimal("15")}, accounts={"200": "Sales"}, tracking={"Region/North": "Region: North"})


def tables(**fields) -> MappingTables:
    return MappingTables(**{"items": {"LAB-STD": "1", "FLT-16X25": "2"}, "default_items": {"labour": "1"},
                            "tax_codes": {"taxable": "TAX", "exempt": "NON"}, **fields})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---- the pure check ------------------------------------------------------------------------------


def test_tables_whose_every_code_is_in_the_ledger_have_no_unknown_codes():
    everything = tables(income_accounts={"labour": "1"}, tax_rates={"GST": "TAX"}, classes={"preventive": "10"},
                        departments={"*": "20"}, sales_term_ref="3")

    assert find_unknown_codes(everything, QBO) == []


def test_an_item_typed_by_its_name_is_reported_with_the_item_that_has_that_name():
    [found] = find_unknown_codes(tables(items={"PUMP-9": "Parts"}), QBO)

    assert (found.table, found.key, found.code, found.kind) == ("items", "PUMP-9", "Parts", "item")
    assert found.close_matches == (("2", "Parts"),)
    assert found.describe() == "items[PUMP-9] = 'Parts': QuickBooks has no item 'Parts'; did you mean 2 (Parts)?"


def test_every_entry_that_shares_a_wrong_code_is_listed_in_table_order():
    found = find_unknown_codes(tables(items={"A": "9", "B": "9"}, default_items={"part": "9"}), QBO)

    assert [(f.table, f.key) for f in found] == [("items", "A"), ("items", "B"), ("default_items", "part")]


def test_each_table_is_checked_against_the_list_of_its_own_kind():
    wrong = tables(tax_codes={"taxable": "1"}, tax_rates={"HST ON": "HST"}, income_accounts={"part": "2"},
                   classes={"installation": "11"}, departments={"S-1": "1"}, sales_term_ref="30")

    found = {(f.entry, f.kind) for f in find_unknown_codes(wrong, QBO)}

    assert found == {("tax_codes[taxable]", "tax_code"), ("tax_rates[HST ON]", "tax_code"),
                     ("income_accounts[part]", "account"), ("classes[installation]", "class"),
                     ("departments[S-1]", "department"), ("sales_term_ref", "term")}


def test_a_table_of_a_kind_the_ledger_does_not_have_is_reported_as_such():
    [found] = find_unknown_codes(tables(items={}, default_items={}, tax_codes={}, classes={"preventive": "10"}), XERO)

    assert found.problem == KIND_NOT_IN_LEDGER and found.entry == "classes[preventive]"
    assert "Xero has no class list" in found.describe()


def test_a_tracking_option_matches_whatever_the_spaces_around_its_slash():
    xero = tables(items={"LAB": "LABOUR"}, default_items={}, tax_codes={"taxable": "OUTPUT2"},
                  tracking={"preventive": "Region / North", "corrective": "Region/South"})

    assert [f.entry for f in find_unknown_codes(xero, XERO)] == ["tracking[corrective]"]


def test_a_code_in_the_wrong_case_and_a_near_spelling_are_offered_as_close_matches():
    assert close_matches("labour", XERO.items) == (("LABOUR", "Labour"),)
    assert close_matches("Labor", QBO.items) == (("1", "Labour"),)
    assert close_matches("Widgets", QBO.items) == ()


def test_one_entry_about_to_be_added_is_checked_alone_and_a_customer_never_is():
    assert unknown_code("items", "PUMP-9", "2", QBO) is None
    assert unknown_code("items", "PUMP-9", "Parts", QBO).close_matches == (("2", "Parts"),)
    assert unknown_code("customers", "C-1", "anything", QBO) is None


# ---- the catalog kept per company ---------------------------------------------------------------


def test_a_read_catalog_is_kept_for_a_few_minutes_then_read_again(app, company):
    ledger, clock = app.ledger_for(company), Clock()
    ledger.offer_catalog(QBO)
    cache = CatalogCache(app, ttl=300, clock=clock)

    first = cache.read(company)
    clock.now += 299
    again = cache.read(company)
    clock.now += 2
    later = cache.read(company)

    assert first.status == READ and first.catalog == QBO and again is first and later is not first
    assert ledger.calls.count("read_catalog") == 2


def test_an_outage_is_remembered_briefly_and_its_text_says_what_failed(app, company):
    ledger, clock = app.ledger_for(company), Clock()
    ledger.offer_catalog(RetriableError("cannot connect", system="quickbooks", operation="read_catalog Item"))
    cache = CatalogCache(app, failed_ttl=30, clock=clock)

    failed = cache.read(company)
    cache.read(company)
    clock.now += 31
    ledger.offer_catalog(QBO)

    assert failed.status == UNREADABLE and "cannot connect" in failed.detail and not failed.was_read
    assert cache.read(company).was_read


def test_a_ledger_without_the_catalog_port_is_not_listable(app, company):
    assert CatalogCache(app).read(company).status == NOT_LISTABLE


# ---- doctor ---------------------------------------------------------------------------------------


def test_doctor_lists_each_mapping_entry_the_ledger_does_not_have_and_fails_that_company(app, company):
    app.ledger_for(company).offer_catalog(LedgerCatalog(ledger="quickbooks", items={"1": "Labour", "2": "Parts"},
                                                        tax_codes={"TAX": "TAX", "NON": "NON"}))

    [check] = check_mappings(app)

    assert not check.ok and check.company == "acme"
    assert [u.entry for u in check.unknown] == ["items[TRIP-STD]", "default_items[fee]"]
    assert check.detail == f"2 of {check.checked} mapping entries name codes QuickBooks does not have"


def test_doctor_checks_the_queue_overrides_over_the_file(app, company):
    app.ledger_for(company).offer_catalog(QBO)
    with app.store.unit_of_work() as uow:
        uow.mapping_overrides.put(company="acme", table="items", key="PUMP-9", value="Parts", actor="dana")
        uow.commit()

    [check] = check_mappings(app)

    assert [u.entry for u in check.unknown] == ["items[PUMP-9]"]


def test_doctor_fails_a_company_whose_ledger_cannot_be_read_and_passes_one_that_cannot_list(app, company):
    assert check_mappings(app)[0].ok and "not checked" in check_mappings(app)[0].detail

    app.ledger_for(company).offer_catalog(RetriableError("QuickBooks server error (500)", system="quickbooks"))
    [check] = check_mappings(app)

    assert not check.ok and check.detail.startswith("cannot read QuickBooks's lists: RetriableError")


def test_doctor_passes_tables_whose_every_code_is_in_the_ledger(app, company):
    app.ledger_for(company).offer_catalog(QBO)

    [check] = check_mappings(app)

    assert check.ok and check.unknown == ()
    assert check.detail == f"all {check.checked} mapping entries name codes QuickBooks has"


def test_the_health_check_has_a_mappings_row_that_fails_with_the_codes_the_ledger_lacks(app, company):
    app.ledger_for(company).offer_catalog(LedgerCatalog(ledger="quickbooks", items={"1": "Labour", "2": "Parts"},
                                                        tax_codes={"TAX": "TAX", "NON": "NON"}))

    rows = {row.kind: row for row in check_company(app, company)}

    mappings = rows["mappings"]
    assert mappings.problem == "failed" and mappings.name == "quickbooks"
    assert "2 of" in mappings.detail and "items[TRIP-STD]" in mappings.detail
    assert {(m["table"], m["key"]) for m in mappings.missing} == {("items", "TRIP-STD"), ("default_items", "fee")}


def test_a_failing_mappings_row_opens_one_missing_mapping_case_that_a_passing_check_closes(app, company):
    ledger = app.ledger_for(company)
    ledger.offer_catalog(LedgerCatalog(ledger="quickbooks", items={"1": "Labour", "2": "Parts"},
                                       tax_codes={"TAX": "TAX", "NON": "NON"}))
    acme = company
    mappings_row = [row for row in check_company(app, acme) if row.kind == "mappings"]

    assert record_problems(app, mappings_row) == 1
    assert record_problems(app, mappings_row) == 0  # the open case is kept, not doubled
    with app.store.unit_of_work() as uow:
        [case] = uow.cases.list(statuses=(CaseStatus.open,), kinds=[AnomalyCode.missing_mapping], company="acme")
    assert case.subject == "health:acme/mappings:quickbooks"
    assert {m["key"] for m in case.evidence["missing"]} == {"TRIP-STD", "fee"}

    ledger.offer_catalog(LedgerCatalog(ledger="quickbooks", items={"1": "Labour", "2": "Parts", "3": "Trip", "4": "Fee"},
                                       tax_codes={"TAX": "TAX", "NON": "NON"}))
    passing = [row for row in check_company(app, acme) if row.kind == "mappings"]
    record_problems(app, passing)

    with app.store.unit_of_work() as uow:
        assert uow.cases.get(case.id).status is not CaseStatus.open


def test_an_unreadable_ledger_leaves_the_mappings_row_unchecked_so_its_outage_opens_no_mapping_case(app, company):
    app.ledger_for(company).offer_catalog(RetriableError("QuickBooks server error (500)", system="quickbooks"))

    [mappings] = [row for row in check_company(app, company) if row.kind == "mappings"]
    record_problems(app, [mappings])

    assert mappings.ok and mappings.detail.startswith("not checked: cannot read QuickBooks's lists")
    with app.store.unit_of_work() as uow:
        assert uow.cases.list(statuses=(CaseStatus.open,), kinds=[AnomalyCode.missing_mapping], company="acme") == []
