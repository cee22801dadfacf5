"""The privacy commands of ``closeout``: retention and erase (registered when closeout.cli imports this).

Both only count what they would change unless given ``--apply``: dropping data cannot be undone.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from closeout.cli.base import USER_ERROR_EXIT_CODE, ConfigOption, JsonOption, app, console, shell_login, user_errors

ApplyOption = Annotated[bool, typer.Option("--apply", help="do it (without: only count what would change)")]


@app.command()
def retention(config: ConfigOption = None, apply: ApplyOption = False, as_json: JsonOption = False) -> None:
    """Drop raw payloads, raw mail and attachments older than retention_days that finished work orders no longer
    need, and clear the text of notifications sent or failed for good; invoices, decisions, cases and the audit
    trail are kept. Counts only, unless --apply."""
    from closeout.wiring import open_app
    from services.retention import apply_retention, describe_retention

    with user_errors(), open_app(config_path=config) as application:
        report = apply_retention(application, apply=apply, actor=shell_login())
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    days = ", ".join(f"{company}: {f'{n} days' if n else 'forever'}" for company, n in report.days.items())
    console.print(f"retention: {days}", markup=False, highlight=False)
    console.print(describe_retention(report), markup=False, highlight=False)
    if not apply and report.dropped:
        console.print("nothing was dropped: run again with --apply to drop it", markup=False, highlight=False)


@app.command()
def erase(
    customer: Annotated[str, typer.Option("--customer", help="the person: their e-mail address (surest) or name")],
    company: Annotated[str | None, typer.Option("--company", help="only in this company (its id)")] = None,
    config: ConfigOption = None,
    apply: ApplyOption = False,
    as_json: JsonOption = False,
) -> None:
    """Erase a person's data from raw payloads, mail, work orders, cases and notifications of finished work orders;
    the ledger's invoice and Closeout's record of it are kept, and the erasure is audited. Counts only, unless
    --apply."""
    from closeout.wiring import open_app
    from services.erasure import ErasureError, describe_erasure, erase_customer

    with user_errors(), open_app(config_path=config) as application:
        try:
            report = erase_customer(application, customer, company=company, apply=apply, actor=shell_login())
        except ErasureError as exc:
            console.print(f"error: {exc}", markup=False, highlight=False)
            raise typer.Exit(USER_ERROR_EXIT_CODE) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    elif report.nothing:
        console.print("nothing to erase: no work order, message, payload or case names that customer",
                      markup=False, highlight=False)
    else:
        console.print(describe_erasure(report), markup=False, highlight=False)
        if not apply and report.changed:
            console.print("nothing was changed: run again with --apply to erase it", markup=False, highlight=False)
