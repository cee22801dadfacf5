"""The cutover command of ``closeout``: jobs a company billed before Closeout (registered by importing this)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from closeout.cli.base import ConfigOption, app, console, shell_login, user_errors


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-01") from None


@app.command()
def cutover(
    company: Annotated[str, typer.Option(help="the company whose earlier books these are")],
    invoiced_before: Annotated[str | None, typer.Option(
        "--invoiced-before", help="jobs completed before this day (the company's own timezone) were invoiced "
                                  "elsewhere, e.g. 2026-11-01")] = None,
    jobs: Annotated[Path | None, typer.Option(
        "--jobs", help="a CSV whose first column lists job ids or job numbers invoiced elsewhere")] = None,
    config: ConfigOption = None,
) -> None:
    """Record that these jobs were invoiced by hand or by the source's own sync: each gets a logged no-invoice
    decision (rule invoiced_elsewhere), now for the jobs already read and on every run for the rest."""
    from closeout.wiring import open_app
    from services.cutover import CutoverError, read_job_list, record_cutover

    day = _day(invoiced_before)
    try:
        with user_errors(), open_app(config_path=config) as application:
            target = next((c for c in application.companies() if c.id == company), None)
            if target is None:
                names = ", ".join(c.id for c in application.companies())
                raise CutoverError(f"no company {company!r} in the config (it has {names})")
            listed = read_job_list(jobs) if jobs is not None else []
            result = record_cutover(application, target, invoiced_before=day, jobs=listed, actor=shell_login())
    except CutoverError as exc:
        console.print(Text.assemble(("error:", "red"), f" {exc}"), soft_wrap=True)
        raise typer.Exit(2) from None
    said = []
    if result.invoiced_before is not None:
        said.append(f"jobs completed before {_when(result.invoiced_before)}")
    if result.listed:
        said.append(f"{result.listed} listed job(s)")
    console.print(Text(f"Recorded for {company}: {' and '.join(said)} were invoiced elsewhere."))
    console.print(Text(f"Of {result.judged} job(s) read and not sent to the ledger, {len(result.not_billed)} "
                       f"now get no invoice; {len(result.drafts_withdrawn)} unsent draft(s) withdrawn, "
                       f"{len(result.cases_closed)} case(s) closed."))
    if result.not_billed:
        shown = ", ".join(result.not_billed[:20]) + (" …" if len(result.not_billed) > 20 else "")
        console.print(Text(f"  not billed: {shown}"))
    console.print("Jobs read later are judged the same way; `closeout explain JOB` shows each decision.")


def _when(moment: datetime) -> str:
    return f"{moment.date().isoformat()} ({moment.tzinfo})"
