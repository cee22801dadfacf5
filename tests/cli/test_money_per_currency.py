"""Every sum of money shown adds amounts of one currency only: the run summary the CLI prints (and the dashboard's
``closeout-run-summary`` artifact, the same rows) and each company's day report on the dashboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from connectors.source_paging import SourcePage
from services.config import CloseoutConfig
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from tests.fakes import FakeRuntime, FakeSource, FakeStore, company_config, csv_job

KIWI = dict(customer_id="C-9", customer_name="Kiwi Cafe Ltd", customer_email="accounts@kiwicafe.example",
            currency="NZD")


def test_the_demo_run_summary_shows_each_currency_apart_and_no_sum_across_them(demo_run):
    _, ran = demo_run
    rows = dict(re.findall(r"│ (invoiced in \w+|amount invoiced)\s+│\s+(.+?) │", ran.output))

    assert set(rows) == {"invoiced in USD", "invoiced in NZD"}, ran.output
    assert rows["invoiced in USD"].endswith(" USD") and rows["invoiced in NZD"].endswith(" NZD")
    subtotals = [Decimal(re.search(r"subtotal ([\d.]+)", value).group(1)) for value in rows.values()]
    assert f"{sum(subtotals):.2f}" not in ran.output  # 27582.50 USD + 2904.57 NZD means nothing


def test_the_day_report_of_a_company_invoicing_in_two_currencies_names_each_total_apart(prefect_api, tmp_path):
    from prefect.artifacts import Artifact

    from closeout.orchestration.run_report import company_day, report_key
    from flows.pipeline import publish_day_reports_task

    app = two_currencies_invoiced(tmp_path)
    company = app.config.company("acme")

    publish_day_reports_task.fn(app)

    description = Artifact.get(report_key("acme", company_day(company, datetime.now(UTC)))).description
    assert "2 invoices" in description and "1,250.00 USD" in description and "331.10 NZD" in description
    assert "1581.10" not in description and "1,581.10" not in description


def two_currencies_invoiced(home: Path) -> FakeRuntime:
    """A company whose ledger takes other currencies, with one job invoiced in USD and one in NZD today."""
    usd = company_config()
    company = usd.model_copy(update={"ledger": usd.ledger.model_copy(update={"multicurrency": True})})
    jobs = (csv_job("J1", "1001", unit_price="1250.00"), csv_job("J2", "1002", unit_price="331.10", **KIWI))
    app = FakeRuntime(CloseoutConfig(companies=(company,)), home=home, store=FakeStore(clock=lambda: datetime.now(UTC)),
                      sources={"csv-drop": FakeSource([SourcePage(jobs=jobs, next_cursor="page-1")])})
    pull_source(app, company, company.sources[0])
    assert prepare_batch(app, run_id="two-currencies").drafts == 2
    pushed = push_batch(app, company)
    assert pushed.pushed == 2 and {entry.currency for entry in pushed.by_currency()} == {"USD", "NZD"}
    return app
