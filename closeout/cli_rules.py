"""The rules commands of ``closeout``: rules, explain and preview (registered by importing this)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from closeout.cli import ConfigOption, JsonOption, _store, _user_errors, app, console
from closeout.settings import Settings

CompanyOption = Annotated[str | None, typer.Option("--company", help="only this company (its id)")]


@app.command()
def explain(
    work_order: Annotated[str, typer.Argument(help="a work order id (csv:J20486) or a job number (1026)")],
    as_json: JsonOption = False,
) -> None:
    """Show a work order, its versions, every rule decision with its evidence, and its draft or case."""
    from closeout.explain import WorkOrderNotFoundError, explain_work_order, show_explanation

    with _user_errors(), _store(Settings()) as store, store.unit_of_work() as uow:
        try:
            found = explain_work_order(uow, work_order)
        except WorkOrderNotFoundError as exc:
            console.print(f"[red]error:[/] {exc.args[0]}")
            raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(found.as_dict(), indent=2, default=str))
    else:
        show_explanation(console, found)


@app.command()
def preview(config: ConfigOption = None, company: CompanyOption = None, as_json: JsonOption = False) -> None:
    """Show the invoices the next run would send and their totals; sends nothing and stores nothing."""
    from closeout.preview import preview_run, show_preview
    from closeout.wiring import open_app

    with _user_errors(), open_app(config_path=config) as application:
        if company is not None:
            application.config.company(company)  # an unknown id is a user error, named
        found = preview_run(application, company=company)
    if as_json:
        print(json.dumps(found.as_dict(), indent=2, default=str))
    else:
        show_preview(console, found)


@app.command()
def rules(config: ConfigOption = None, company: CompanyOption = None) -> None:
    """List the business rules: id, version, why each exists, and whether it runs for each company."""
    from closeout.config import load_config
    from closeout.wiring import resolve_config_path
    from workorders.rules import DEFAULT_RULES

    with _user_errors():
        loaded = load_config(resolve_config_path(Settings(), config))
        companies = [loaded.company(company)] if company else list(loaded.companies)
    table = Table(title="Business rules, in the order they run", title_justify="left")
    for column in ("rule", "why it exists", "job types", *(c.id for c in companies)):
        table.add_column(column, overflow="fold")
    for item in DEFAULT_RULES:
        types = {", ".join(t.value for t in (c.rules.section(item.id).job_types or item.job_types)) or "all"
                 for c in companies} or {", ".join(t.value for t in item.job_types) or "all"}
        table.add_row(f"{item.id} v{item.version}", item.why, " | ".join(sorted(types)),
                      *("on" if item.enabled_for(c.rules) else "[dim]off[/]" for c in companies))
    console.print(table)


def show_decisions(console: Console, settings: Settings) -> None:
    """The decisions of the latest versions that did something other than pass: what `make demo` shows."""
    from workorders.decisions import Outcome

    rows = []
    with _store(settings) as store, store.unit_of_work() as uow:
        for order in uow.work_orders.latest():
            for d in uow.decisions.for_work_order(order.id, order.version):
                if d.outcome is not Outcome.passed:
                    rows.append((order.job_number, order.id, d))
    table = Table(title=f"Rule decisions other than pass ({len(rows)})", title_justify="left")
    for column in ("job", "work order", "rule", "outcome", "reason"):
        table.add_column(column, overflow="fold")
    for job_number, work_order_id, d in sorted(rows, key=lambda row: (row[0], row[2].rule_id)):
        table.add_row(job_number, work_order_id, d.rule_id, d.outcome.value, d.reason)
    console.print(table)
    blocked = [row for row in rows if row[2].outcome is Outcome.block]
    if blocked:
        console.print(f"Why? [bold]closeout explain {blocked[0][0]}[/] shows every decision about that job, "
                      "with its evidence.")
