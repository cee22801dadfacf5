"""Both ledgers' ``read_catalog`` through the real SDKs against the sandbox: what a mapping may name, errors typed."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import httpx
import pytest

from connectors import ledger_catalog, qbo_catalog
from connectors.errors import AuthError, RetriableError
from connectors.qbo import QuickBooksLedger
from connectors.xero import XeroLedger
from workorders import ports

TOKEN = "catalog-test-token-3b9e"


@pytest.fixture
def xero(sandbox_url: str) -> Iterator[tuple[XeroLedger, httpx.Client]]:
    """A XeroLedger on a fresh tenant, with the tenant's admin endpoints."""
    tenant = str(uuid.uuid4())
    ledger = XeroLedger(base_url=f"{sandbox_url}/api.xro/2.0", tenant_id=tenant, access_token=TOKEN, timeout=5.0)
    with httpx.Client(base_url=f"{sandbox_url}/_sandbox/xero/{tenant}", timeout=10, trust_env=False) as admin:
        yield ledger, admin


def test_the_connectors_catalog_has_exactly_the_fields_of_the_ports_catalog():
    def names(cls) -> list[str]:
        return [field.name for field in dataclasses.fields(cls)]

    assert names(ledger_catalog.LedgerCatalog) == names(ports.LedgerCatalog)


# ---- QuickBooks Online ------------------------------------------------------------------------------


def test_the_qbo_catalog_lists_the_realms_items_tax_codes_and_only_its_income_accounts(ledger: QuickBooksLedger):
    catalog = ledger.read_catalog()

    assert catalog.ledger == "quickbooks" and catalog.tracking is None
    assert catalog.items == {"1": "Labour", "2": "Parts", "3": "Materials", "4": "Service fee", "5": "Discount",
                             "6": "After-hours labour", "7": "Travel"}
    assert {"TAX", "NON"} <= set(catalog.tax_codes)  # US Automated Sales Tax's pseudo codes, listed as QBO does
    assert set(catalog.tax_code_rates) <= set(catalog.tax_codes) - {"TAX", "NON"}  # they carry no rate of their own
    assert all(rate >= 0 for rate in catalog.tax_code_rates.values())
    assert catalog.accounts == {"1": "Services", "2": "Sales of Product Income", "3": "Discounts given"}


def test_the_qbo_catalog_lists_the_realms_classes_departments_and_terms(ledger: QuickBooksLedger):
    catalog = ledger.read_catalog()

    for kind in (catalog.classes, catalog.departments, catalog.terms):
        assert isinstance(kind, dict) and kind, "the sandbox seeds some of each"
        assert all(code and name for code, name in kind.items())


def test_the_qbo_catalog_reads_every_page_of_a_list(ledger: QuickBooksLedger, monkeypatch):
    monkeypatch.setattr(qbo_catalog, "PAGE", 2)

    assert sorted(ledger.read_catalog().items, key=int) == ["1", "2", "3", "4", "5", "6", "7"]


def test_a_qbo_server_error_while_reading_the_catalog_is_retriable_and_names_the_list(ledger, sandbox_admin):
    sandbox_admin.post("/faults", json={"kind": "server_error", "count": 1}).raise_for_status()

    with pytest.raises(RetriableError) as failed:
        ledger.read_catalog()

    assert failed.value.operation.startswith("read_catalog ")


def test_refused_qbo_credentials_stop_the_catalog_read_without_repeating_the_token(make_ledger):
    token = "expired-catalog-token-99a1"

    with pytest.raises(AuthError) as refused:
        make_ledger(access_token=token).read_catalog()

    assert token not in str(refused.value) + refused.value.detail


# ---- Xero ---------------------------------------------------------------------------------------------


def test_the_xero_catalog_lists_item_codes_tax_types_revenue_accounts_and_tracking_options(xero):
    ledger, admin = xero
    admin.post("/settings", json={"tracking_categories": {"Region": ["North", "South"]}}).raise_for_status()

    catalog = ledger.read_catalog()

    assert catalog.ledger == "xero" and (catalog.classes, catalog.departments, catalog.terms) == (None, None, None)
    assert set(catalog.items) == {"LABOUR", "PARTS", "MATERIALS", "FEE", "DISCOUNT"}
    assert catalog.items["PARTS"] == "Parts"
    assert {"200", "260"} <= set(catalog.accounts) and "400" not in catalog.accounts  # 400 Advertising: an expense
    assert catalog.tax_codes and set(catalog.tax_code_rates) <= set(catalog.tax_codes)
    assert catalog.tracking == {"Region/North": "Region: North", "Region/South": "Region: South"}


def test_a_xero_server_error_while_reading_the_catalog_is_retriable(xero):
    ledger, admin = xero
    admin.post("/faults", json={"kind": "server_error", "count": 1}).raise_for_status()

    with pytest.raises(RetriableError):
        ledger.read_catalog()


def test_refused_xero_credentials_stop_the_catalog_read_without_repeating_the_token(sandbox_url):
    token = "expired-catalog-token-77c4"
    ledger = XeroLedger(base_url=f"{sandbox_url}/api.xro/2.0", tenant_id=str(uuid.uuid4()), access_token=token)

    with pytest.raises(AuthError) as refused:
        ledger.read_catalog()

    assert token not in str(refused.value) + refused.value.detail
