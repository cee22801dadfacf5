"""A job in another currency is invoiced in it where the ledger has multi-currency on, and held with a case where not."""

from __future__ import annotations

from decimal import Decimal

from exceptions_queue.cases import CaseStatus
from services.config import CloseoutConfig, LedgerConfig
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from services.push.pusher import invoice_payload
from tests.fakes import FakeRuntime, FakeSource, company_config, csv_job
from workorders.push import PushStatus


def app_for(tmp_path, *, multicurrency: bool) -> FakeRuntime:
    config = company_config().model_copy(update={"ledger": LedgerConfig(
        kind="quickbooks", realm_id="9130355221", create_customers=True, multicurrency=multicurrency)})
    return FakeRuntime(CloseoutConfig(companies=(config,)), home=tmp_path, sources={"csv-drop": FakeSource([])})


def run_euro_job(app: FakeRuntime):
    from connectors.source_paging import SourcePage

    company = app.config.company("acme")
    app.sources["csv-drop"] = FakeSource([SourcePage(jobs=(csv_job("J1", "1001", currency="EUR"),), next_cursor="p1")])
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    push_batch(app, company, sleep=lambda seconds: None)
    with app.store.read() as uow:
        return uow.push_records.all(), uow.cases.list(statuses=(CaseStatus.open,), limit=10)


def test_without_multicurrency_a_job_in_another_currency_waits_with_a_case_that_says_why(tmp_path):
    records, cases = run_euro_job(app_for(tmp_path, multicurrency=False))

    assert records == []
    [case] = cases
    assert "EUR" in case.summary and "multi-currency is off" in case.summary


def test_with_multicurrency_the_invoice_is_sent_in_the_jobs_currency(tmp_path):
    app = app_for(tmp_path, multicurrency=True)

    records, cases = run_euro_job(app)

    [record] = records
    assert record.status is PushStatus.pushed and record.draft.currency == "EUR" and cases == []
    payload = invoice_payload(app.config.company("acme"), record, "C1")
    assert payload["CurrencyRef"] == {"value": "EUR"} and record.amount == Decimal("89.00")
