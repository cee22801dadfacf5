"""The ledger commands of ``closeout``: reconcile (registered when closeout.cli imports this)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from closeout.cli.base import ConfigOption, JsonOption, app, console, user_errors
from closeout.orchestration.prefect_api import prefect_api_configured


@app.command()
def reconcile(
    company: Annotated[str | None, typer.Option(help="only this company (default: every company)")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare pushed invoices with the ledgers: missing, voided, amount or customer mismatches, duplicates.

    Each finding becomes a reconciliation_mismatch case; exit 1 when there is any. With a Prefect API
    configured (PREFECT_API_URL) the findings are also published as the table artifact "closeout-reconcile".
    """
    from services.reconcile import reconcile as run_reconcile
    from closeout.wiring import open_app

    with user_errors(), open_app(config_path=config) as application:
        report = run_reconcile(application, company_id=company)
    if prefect_api_configured():
        publish_reconcile_artifact(report)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        table = Table(title=f"Reconciliation of {', '.join(report.companies)}", title_justify="left")
        for column in ("company", "finding", "doc number", "ledger id", "expected", "found", "work order"):
            table.add_column(column)
        for row in report.rows():
            table.add_row(*(str(value) for value in row.values()))
        if report.findings:
            console.print(table)
        console.print(f"{report.records_checked} pushed invoices checked against {report.ledger_invoices} in the "
                      f"ledgers: {len(report.findings)} finding(s), {report.cases_opened} new case(s)")
        if report.payments:
            console.print(f"payments: {report.payment_summary()}", markup=False)
    if not report.ok:
        raise typer.Exit(1)


def publish_reconcile_artifact(report) -> None:
    """The findings as a Prefect table artifact (key ``closeout-reconcile``) for the operations lead."""
    from prefect.artifacts import create_table_artifact

    payments = f"; payments: {report.payment_summary()}" if report.payments else ""
    create_table_artifact(key="closeout-reconcile", table=report.rows() or [{"finding": "none"}],
                          description=f"{len(report.findings)} finding(s) over {report.records_checked} invoices"
                                      + payments)
