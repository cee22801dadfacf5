"""The tax the ledger computes is kept, summed per currency, compared with the source's, and looked up like with like."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.errors import UncertainOutcomeError
from exceptions_queue.cases import CaseKind, CaseStatus
from services.config import CloseoutConfig, LedgerConfig
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from tests.fakes import FakeLedger, FakeRuntime, FakeSource, company_config, csv_job
from workorders.push import PushStatus


def no_sleep(seconds: float) -> None:
    pass


def taxed_app(tmp_path, *, ledger: str = "quickbooks", rate: str = "0.0825", **ledger_fields) -> FakeRuntime:
    account = {"realm_id": "9130355221"} if ledger == "quickbooks" else {"tenant_id": "6f1c2a8e-demo"}
    config = company_config(ledger=ledger).model_copy(update={"ledger": LedgerConfig(kind=ledger, create_customers=True, **account,
                                                              **ledger_fields)})
    return FakeRuntime(CloseoutConfig(companies=(config,)), home=tmp_path, sources={"csv-drop": FakeSource([])},
                      ledgers={"acme": FakeLedger(ledger, tax_rate=Decimal(rate))})


def run(app: FakeRuntime, *jobs):
    from connectors.source_paging import SourcePage

    company = app.config.company("acme")
    app.sources["csv-drop"] = FakeSource([SourcePage(jobs=tuple(jobs), next_cursor="page-1")])
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    return push_batch(app, company, sleep=no_sleep)


def open_cases(app, kind):
    with app.store.read() as uow:
        return [c for c in uow.cases.list(statuses=(CaseStatus.open,), limit=100) if c.kind is kind]


def test_the_ledgers_tax_and_total_are_kept_and_the_run_sums_them_per_currency(tmp_path):
    app = taxed_app(tmp_path)

    counts = run(app, csv_job("J1", "1001", unit_price="100.00"), csv_job("J2", "1002", unit_price="200.00"))

    with app.store.read() as uow:
        records = {r.doc_number: r for r in uow.push_records.all(status=PushStatus.pushed)}
    assert (records["AC-1001"].ledger_tax, records["AC-1001"].ledger_total) == (Decimal("8.25"), Decimal("108.25"))
    [usd] = counts.by_currency()
    assert (usd.currency, usd.invoices, usd.subtotal, usd.tax, usd.total) == (
        "USD", 2, Decimal("300.00"), Decimal("24.75"), Decimal("324.75"))
    rows = {row["measure"]: row["value"] for row in counts.as_rows()}
    assert rows["invoiced in USD"] == "subtotal 300.00 + tax 24.75 = 324.75 USD"


def test_a_source_tax_beyond_the_tolerance_opens_one_tax_mismatch_case_with_both_figures(tmp_path):
    app = taxed_app(tmp_path)

    run(app, csv_job("J1", "1001", unit_price="100.00", tax="7.00"),
        csv_job("J2", "1002", unit_price="200.00", tax="16.53"))  # 16.50 computed: within the 0.05 tolerance

    [case] = open_cases(app, CaseKind.tax_mismatch)
    assert case.subject.startswith("csv:J1@v")
    assert (case.evidence["source_tax"], case.evidence["ledger_tax"], case.evidence["difference"]) == (
        "7.00", "8.25", "1.25")
    assert case.evidence["lines"][0]["amount"] == "100.00"
    with app.store.read() as uow:  # the invoice went out all the same: the case asks a person to check it
        assert {r.doc_number for r in uow.push_records.all(status=PushStatus.pushed)} == {"AC-1001", "AC-1002"}


def test_a_job_without_a_source_tax_is_never_compared(tmp_path):
    app = taxed_app(tmp_path)

    run(app, csv_job("J1", "1001", unit_price="100.00"))

    assert open_cases(app, CaseKind.tax_mismatch) == []


@pytest.mark.parametrize("line_amount_types", ["Exclusive", "Inclusive"])
def test_an_uncertain_push_is_found_by_the_figure_its_lines_add_up_to(tmp_path, line_amount_types):
    app = taxed_app(tmp_path, ledger="xero", rate="0.15", line_amount_types=line_amount_types)
    ledger = app.ledgers["acme"]
    ledger.fail_next_create(UncertainOutcomeError("read timed out", system="xero"), landed=True)

    with pytest.raises(UncertainOutcomeError):
        run(app, csv_job("J1", "1001", unit_price="115.00"))
    again = push_batch(app, app.config.company("acme"), sleep=no_sleep)

    assert again.pushed == 1 and len(ledger.invoices) == 1
    [invoice] = ledger.invoices.values()
    expected = invoice.total if line_amount_types == "Inclusive" else invoice.subtotal
    assert expected == Decimal("115.00")
    assert open_cases(app, CaseKind.ledger_rejected) == []
