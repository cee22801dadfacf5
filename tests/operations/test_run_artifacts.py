"""What a pipeline run leaves on the dashboard: the summary with rule outcomes and cases by kind, the push
progress, and the markdown report per company and day, read back through the Prefect client."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from closeout.orchestration.run_report import company_day, mail_progress_key, push_progress_key, report_key
from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from flows.pipeline import closeout_pipeline
from workorders.push import PushStatus

pytestmark = pytest.mark.e2e


def test_a_demo_run_publishes_its_summary_progress_and_a_report_per_company_and_day(prefect_api, workspace):
    from prefect.artifacts import Artifact

    config = install_demo_config(Settings().resolved_home())

    counts = closeout_pipeline(config_path=str(config))

    summary = {row["measure"]: row["value"] for row in _data(Artifact.get("closeout-run-summary"))}
    outcomes = counts.outcome_totals()
    assert outcomes["pass"] > 0 and outcomes["block"] > 0
    assert {f"rule outcome: {outcome}": str(n) for outcome, n in outcomes.items()}.items() <= summary.items()
    assert summary["rule sign_off_required: block"] == str(counts.rule_outcomes[("sign_off_required", "block")])
    assert summary["cases opened: missing_mapping"] == str(counts.cases_opened["missing_mapping"])
    usd = next(entry for entry in counts.by_currency() if entry.currency == "USD")
    assert summary["invoiced in USD"] == f"subtotal {usd.subtotal:.2f} + tax {usd.tax:.2f} = {usd.total:.2f} USD"
    assert usd.tax > 0 and usd.total == usd.subtotal + usd.tax  # Northwind's jobs are taxed by the ledger
    assert "amount invoiced" not in summary  # never one sum across currencies
    with open_app(config_path=config) as app:
        companies = app.companies()
        with app.store.unit_of_work() as uow:
            pushed = uow.push_records.all(status=PushStatus.pushed)
    now = datetime.now(UTC)
    for company in companies:
        mine = [record for record in pushed if record.company == company.id]
        progress = Artifact.get(push_progress_key(company.id))
        assert _data(progress) == 100.0
        assert f"{len(mine)} of {len(mine)} drafts sent" in progress.description
        report = Artifact.get(report_key(company.id, company_day(company, now)))
        tax = sum((record.ledger_tax for record in mine), Decimal(0))
        total = sum((record.ledger_total for record in mine), Decimal(0))
        assert f"**{len(mine)} invoice(s)** sent to {company.ledger.kind} today" in report.data
        assert f"+ tax {tax:.2f} = {total:.2f} {company.currency}" in report.data  # per currency, with the ledger's tax
        assert all(f"| {record.doc_number} | {record.ledger_id} | {record.amount:.2f} | {record.ledger_tax:.2f} |"
                   in report.data for record in mine)
    assert "| missing_mapping |" in Artifact.get(report_key("northwind", company_day(companies[0], now))).data
    mail = Artifact.get(mail_progress_key("northwind"))
    assert _data(mail) == 100.0 and "1 of 1 mailboxes read" in mail.description


def _data(artifact):
    assert artifact is not None
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
