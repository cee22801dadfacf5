"""The run commands of ``closeout``: demo, run, audit, sandbox, mail import, cases list and cases show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from closeout.cli.base import (
    USER_ERROR_EXIT_CODE,
    ConfigOption,
    JsonOption,
    app,
    cases_app,
    console,
    mail_app,
    open_store,
    show_decisions,
    user_errors,
)
from closeout.settings import Settings
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.service import CaseQueue
from services.outages import CompaniesFailedError
from services.runtime import UnitOfWork


def run_pipeline_flow(config: Path | None):
    """The closeout-pipeline flow on this config, as `closeout run` starts it (the config checked first)."""
    from closeout.config import load_config
    from closeout.wiring import resolve_config_path
    from closeout.orchestration.deployments import PIPELINE_ENTRYPOINT, load_flow

    # Check the config before a flow run exists: a mistake is the user's, not a failed run on the dashboard.
    path = resolve_config_path(Settings(), config)
    load_config(path)
    try:
        return load_flow(PIPELINE_ENTRYPOINT)(config_path=str(path))
    except CompaniesFailedError as failed:  # the others' work is done: show it, then exit 2 (see _exit_if_failed)
        return failed.counts


def _exit_if_failed(counts) -> None:
    if counts.failed:
        console.print(f"[red]{len(counts.failed)} company step(s) could not run[/] (each has a connection_failed "
                      "case; the other companies' work is done): exit 2")
        raise typer.Exit(USER_ERROR_EXIT_CODE)


@app.command()
def demo(config: ConfigOption = None) -> None:
    """Run the whole pipeline on the bundled demo data against the local ledger sandbox, then audit."""
    from closeout.cli.presenters import show_audit, show_cases, show_run

    settings = Settings()
    config = config or install_demo_config(settings.resolved_home())
    console.rule("[bold]Closeout demo")
    console.print(f"workspace: {settings.resolved_home()}   config: {config}")
    with user_errors():
        counts = run_pipeline_flow(config)
        show_run(console, counts)
        show_decisions(console, settings)
        with open_store(settings) as store:
            from closeout.cli.mail_view import show_mail

            show_mail(console, store)
        with open_store(settings) as store, store.unit_of_work() as uow:
            open_cases = uow.cases.list(statuses=(CaseStatus.open, CaseStatus.in_progress))
        show_cases(console, open_cases, title="Open cases for a coordinator")
        report = _audit(settings, config)
        show_audit(console, report)
    console.print("Next: [bold]closeout cases show ID[/] explains a case; [bold]closeout audit --json[/] for scripts.")
    _exit_if_failed(counts)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def run(config: ConfigOption = None) -> None:
    """Run the pipeline once for every company in the config."""
    from closeout.cli.presenters import show_run

    with user_errors():
        counts = run_pipeline_flow(config)
        show_run(console, counts)
    _exit_if_failed(counts)


@app.command()
def audit(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Check the invariants (nothing lost, exactly one invoice) and print the counts; exit 1 when one fails."""
    from closeout.cli.presenters import show_audit

    with user_errors():
        report = _audit(Settings(), config)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        show_audit(console, report)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8765,
    rate_limits: Annotated[bool, typer.Option(help="apply QBO's and Xero's per-company rate limits")] = False,
    time_scale: Annotated[float, typer.Option(help="with --rate-limits: 60 makes a 'minute' last one second")] = 1.0,
) -> None:
    """Serve the local ledger sandbox (QuickBooks Online under /v3, Xero under /api.xro/2.0) over the workspace's state."""
    from sandbox.server import serve_sandbox

    state = Settings().resolved_home() / "sandbox"
    console.print(f"Ledger sandbox: QuickBooks http://127.0.0.1:{port}/v3, Xero http://127.0.0.1:{port}/api.xro/2.0 "
                  f"(state in {state}); Ctrl-C stops it.")
    serve_sandbox(host="127.0.0.1", port=port, state_dir=state, rate_limits=rate_limits, time_scale=time_scale)


@mail_app.command("import")
def mail_import(
    path: Annotated[Path, typer.Argument(help="a Maildir folder (with cur/ and new/) or an mbox file")],
    company: Annotated[str | None, typer.Option(help="company id; needed when the config has several")] = None,
    config: ConfigOption = None,
) -> None:
    """Ingest a Maildir folder or an mbox file into the workspace: attach what matches, queue the rest."""
    from services.mail.ingest import import_mail
    from closeout.wiring import open_app

    with user_errors(), open_app(config_path=config) as opened:
        counts = import_mail(opened, path, company_id=company)
    for row in counts.as_rows():
        console.print(f"{row['measure']:>34}: {row['value']}")
    console.print("Next: [bold]closeout run[/] re-evaluates the jobs that gained notes, photos or sign-offs.")


@cases_app.command("list")
def cases_list(
    status: Annotated[list[CaseStatus] | None, typer.Option(help="repeat to allow several")] = None,
    kind: Annotated[list[CaseKind] | None, typer.Option(help="repeat to allow several")] = None,
    company: Annotated[str | None, typer.Option(help="a company id of the config")] = None,
    config: ConfigOption = None,
    actor: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """List cases, newest first (open and in-progress ones unless --status says otherwise)."""
    from closeout.cli.presenters import show_cases
    from services.casework import cases_seen

    statuses = status or [CaseStatus.open, CaseStatus.in_progress]
    settings = Settings()
    with user_errors(), open_store(settings) as store, store.unit_of_work() as uow:
        if company is not None:
            check_company(uow, settings, config, company)
        person = _as_user(uow, actor)
        found = cases_seen(uow, person, statuses=statuses, kinds=kind or (), company=company, limit=500)
    if as_json:
        print(json.dumps([case.model_dump(mode="json", exclude={"history"}) for case in found], indent=2))
    else:
        show_cases(console, found)


@cases_app.command("show")
def cases_show(case_id: int, actor: AsOption = None, as_json: JsonOption = False) -> None:
    """Show one case: what happened, why, the evidence, what can be done, and its history."""
    from closeout.cli.presenters import show_case
    from exceptions_queue.desk import visible_case

    with user_errors(), open_store(Settings()) as store, store.unit_of_work() as uow:
        case = visible_case(CaseQueue(uow.cases).get(case_id), _as_user(uow, actor))
    if as_json:
        print(json.dumps(case.model_dump(mode="json"), indent=2))
    else:
        show_case(console, case)


AsOption = Annotated[str | None, typer.Option("--as", help="only what this user of `closeout users list` sees (a "
                                                       "user limited to some companies sees their cases only)")]


def _as_user(uow: UnitOfWork, given: str | None):
    """The store's user ``--as`` names (None without one: everything); a name nobody signs in with is one line,
    exit 2."""
    from closeout.cli.base import decider
    from exceptions_queue.desk import DecisionError
    from exceptions_queue.users import UserError

    if given is None:
        return None
    try:
        return decider(uow.users, given)
    except (DecisionError, UserError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise typer.Exit(USER_ERROR_EXIT_CODE) from None


def check_company(uow: UnitOfWork, settings: Settings, config: Path | None, company: str) -> None:
    """ConfigError (one line, exit 2) unless ``company`` is a company of the config, or, with no config to read,
    one the store holds cases or work orders of: a typo must not read as "no cases"."""
    from closeout.config import load_config
    from services.config import ConfigError

    path = config or settings.config_path()
    if path is not None:
        load_config(path).company(company)
        return
    if uow.cases.list(statuses=tuple(CaseStatus), company=company, limit=1):
        return
    if next(iter(uow.work_orders.latest(company=company)), None) is None:
        raise ConfigError(f"no company {company!r} in the store's cases or work orders (and no config file to read)")


def _audit(settings: Settings, config: Path | None):
    from services.audit import run_audit
    from closeout.wiring import open_app

    with open_app(settings=settings, config_path=config) as application:
        return run_audit(application)

