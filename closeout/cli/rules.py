"""The rules commands of ``closeout``: rules, explain and preview (registered by importing this)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from closeout.cli.base import ConfigOption, JsonOption, app, console, open_store, user_errors
from closeout.settings import Settings

CompanyOption = Annotated[str | None, typer.Option("--company", help="only this company (its id)")]


@app.command()
def explain(
    work_order: Annotated[str, typer.Argument(help="a work order id (csv:J20486) or a job number (1026)")],
    as_json: JsonOption = False,
    all_evaluations: Annotated[bool, typer.Option("--all-evaluations",
                                                  help="also every earlier evaluation of each version")] = False,
) -> None:
    """Show a work order, its versions, the latest rule decisions of each version with their evidence and any
    override (who, when, why), and its draft or case."""
    from closeout.cli.views import show_explanation
    from services.explain import WorkOrderNotFoundError, explain_work_order

    with user_errors(), open_store(Settings()) as store, store.unit_of_work() as uow:
        try:
            found = explain_work_order(uow, work_order)
        except WorkOrderNotFoundError as exc:
            console.print(f"[red]error:[/] {exc.args[0]}")
            raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(found.as_dict(), indent=2, default=str))
    else:
        show_explanation(console, found, all_evaluations=all_evaluations)


@app.command()
def preview(config: ConfigOption = None, company: CompanyOption = None, as_json: JsonOption = False) -> None:
    """Show the invoices the next run would send and their totals; sends nothing and stores nothing."""
    from closeout.cli.views import show_preview
    from services.preview import preview_run
    from closeout.wiring import open_app

    with user_errors(), open_app(config_path=config) as application:
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

    with user_errors():
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
