"""Preview tells the tax before posting where the ledger's rates tell it, and says so where only posting will."""

from __future__ import annotations

from decimal import Decimal

from connectors.errors import RetriableError
from connectors.source_paging import SourcePage
from services.config import CloseoutConfig, LedgerConfig
from services.preview import preview_run
from tests.fakes import FakeRuntime, FakeSource, company_config, csv_job
from workorders.ports import LedgerCatalog

RATES = LedgerCatalog(ledger="xero", tax_codes={"OUTPUT2": "15% GST on Income", "NONE": "No GST"},
                      tax_code_rates={"OUTPUT2": Decimal("15"), "NONE": Decimal("0")})


def xero_app(tmp_path, *, line_amount_types: str, catalog) -> FakeRuntime:
    config = company_config(ledger="xero").model_copy(update={"ledger": LedgerConfig(
        kind="xero", tenant_id="6f1c2a8e-demo", line_amount_types=line_amount_types)})
    app = FakeRuntime(CloseoutConfig(companies=(config,)), home=tmp_path, sources={"csv-drop": FakeSource(
        [SourcePage(jobs=(csv_job("J1", "1001", unit_price="115.00", taxable="yes"),), next_cursor="p1")])})
    app.ledgers["acme"].offer_catalog(catalog)
    return app


def test_preview_shows_the_tax_xero_will_compute_from_its_rates_exclusive_and_inclusive(tmp_path):
    exclusive = preview_run(xero_app(tmp_path / "ex", line_amount_types="Exclusive", catalog=RATES))
    inclusive = preview_run(xero_app(tmp_path / "in", line_amount_types="Inclusive", catalog=RATES))

    assert list(exclusive.ledger_tax.values()) == [Decimal("17.25")]
    assert list(inclusive.ledger_tax.values()) == [Decimal("15.00")]
    [row] = inclusive.as_dict()["drafts"]
    assert row["ledger_tax"] == "15.00"


def test_a_ledger_that_cannot_be_read_leaves_the_tax_to_posting_and_the_preview_still_answers(tmp_path):
    app = xero_app(tmp_path, line_amount_types="Exclusive", catalog=RetriableError("down", system="xero"))

    found = preview_run(app)

    assert len(found.drafts) == 1 and found.ledger_tax == {}
