"""``closeout cases correct``: decide a changed-after-invoiced case (registered when closeout.cli imports this)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from rich.markup import escape

from closeout.cli.base import ConfigOption, JsonOption, app, cases_app, console, decider, user_errors

CORRECTED_EXIT_CODE = {"applied": 0, "kept": 0, "nothing_to_do": 0, "waiting": 1, "refused": 1,
                       "left_for_a_person": 1}
"""Exit 1 while the correction is not done (a step waiting to be looked up, or refused): scripts see it."""


CaseArgument = Annotated[int, typer.Argument(help="the case's number (closeout cases list)")]
ActorOption = Annotated[str | None, typer.Option("--as", help="who decides: a user of `closeout users list` "
                                                              "(default: cli:<your login>)")]


@cases_app.command("correct")
def cases_correct(
    case_id: CaseArgument,
    as_credit: Annotated[bool, typer.Option("--as-credit", help="a credit note and a new invoice, even where "
                                                                "the invoice could be edited")] = False,
    keep: Annotated[bool, typer.Option("--keep", help="keep the invoice as it is; --reason says why")] = False,
    reason: Annotated[str, typer.Option("--reason", "-m", help="why the invoice is kept (with --keep)")] = "",
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply the correction a changed_after_invoiced case plans: amend an unpaid invoice in place, else a credit
    note for what was removed and a supplementary invoice for what was added; void or credit a cancelled job.

    Each ledger operation is recorded before it is sent and sent once; run it again to finish one whose answer
    was lost (it is looked up in the ledger first). Exit 1 while a step waits or was refused.
    """
    if keep and as_credit:
        console.print("[red]error:[/] choose --keep or --as-credit, not both")
        raise typer.Exit(2)
    choice = "keep_invoice" if keep else "apply_as_credit" if as_credit else "apply_correction"
    _correct(case_id, choice, reason=reason, actor=actor, config=config, as_json=as_json)


@cases_app.command("apply_correction")
def cases_apply_correction(case_id: CaseArgument, actor: ActorOption = None, config: ConfigOption = None,
                           as_json: JsonOption = False) -> None:
    """The case page's "Apply correction": `cases correct ID`."""
    _correct(case_id, "apply_correction", actor=actor, config=config, as_json=as_json)


@cases_app.command("apply_as_credit")
def cases_apply_as_credit(case_id: CaseArgument, actor: ActorOption = None, config: ConfigOption = None,
                          as_json: JsonOption = False) -> None:
    """The case page's "Apply as credit note + new invoice": `cases correct ID --as-credit`."""
    _correct(case_id, "apply_as_credit", actor=actor, config=config, as_json=as_json)


@cases_app.command("keep_invoice")
def cases_keep_invoice(case_id: CaseArgument,
                       reason: Annotated[str, typer.Option("--reason", "-m", help="why (required)")] = "",
                       actor: ActorOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The case page's "Keep the invoice as it is", with the reason: `cases correct ID --keep --reason ...`."""
    _correct(case_id, "keep_invoice", reason=reason, actor=actor, config=config, as_json=as_json)


def _correct(case_id: int, choice: str, *, reason: str = "", actor: str | None, config, as_json: bool) -> None:
    """One correction decision through the same desk the UI and the API use; exit 1 while it is not done."""
    from closeout.wiring import open_app
    from exceptions_queue.desk import DecisionError
    from services.casework import StoreDesk

    try:
        with user_errors(), open_app(config_path=config) as application:
            with application.store.unit_of_work() as uow:
                person = decider(uow.users, actor)
            report = StoreDesk(application).correct(case_id, actor=person, choice=choice, reason=reason)
    except (DecisionError, PermissionError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(CORRECTED_EXIT_CODE[report.outcome])


@app.command("demo-corrections")
def demo_corrections() -> None:
    """After `closeout demo`: a day of later corrections in both ledgers (a harmless touch, a returned part on an
    unpaid invoice, an added line on a paid one, a cancellation), each case decided, then a second run."""
    from rich.table import Table
    from rich.text import Text

    from closeout.cli.runs import run_pipeline_flow
    from closeout.demo.corrections_day import DemoDayError, copy_demo_jobs, run_corrections_day
    from closeout.settings import Settings
    from closeout.wiring import open_app

    home = Settings().resolved_home()
    config = home / "closeout.toml"
    console.rule("[bold]Closeout demo: a day of later corrections")
    try:
        with user_errors():
            if not config.exists():
                raise DemoDayError("no demo workspace here: run `closeout demo` first")
            copy_demo_jobs(home, config)
            with open_app(config_path=config) as application:
                day = run_corrections_day(application, home, run_pipeline=lambda: run_pipeline_flow(config))
    except DemoDayError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    table = Table(title="What happened to each changed job", title_justify="left", show_lines=True)
    for column in ("company", "invoice", "change at the source", "what Closeout did", "ledger documents"):
        table.add_column(column, overflow="fold")
    for job in day.jobs:
        table.add_row(*(Text(cell) for cell in (job.company, job.job_number, job.change, job.happened,
                                                 "\n".join(job.documents))))
    console.print(table)
    console.print(f"second run: {day.second_run_cases} open changed-after-invoiced case(s); "
                  f"reconcile: {day.reconcile_findings} finding(s)", markup=False)
    if day.second_run_cases or day.reconcile_findings:
        raise typer.Exit(1)
