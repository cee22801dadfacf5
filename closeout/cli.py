"""The `closeout` command: demo, run, cases, sandbox and audit."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from closeout.config import ConfigError
from closeout.secrets import MissingSecretError
from closeout.settings import Settings
from closeout.workspace import install_demo_config
from connectors.errors import ConnectorError
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.service import CaseNotFoundError, CaseQueue

app = typer.Typer(help="Closeout: field-service jobs to invoices, exactly once, with a visible exception queue.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
cases_app = typer.Typer(help="The exception queue.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")
mail_app = typer.Typer(help="Mail: import exported mailboxes (IMAP mailboxes are read by the flows).", no_args_is_help=True)
app.add_typer(mail_app, name="mail")
# Piped output (make, CI logs) would otherwise wrap every table at 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=140)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="company config file (TOML)")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.callback()
def _defaults() -> None:
    # Prefect phones home by default; this machine (and many customers') has no internet.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@contextmanager
def _user_errors() -> Iterator[None]:
    """A user's mistake or an unreachable system gets one clear line and exit code 2, never a traceback."""
    try:
        yield
    except (ConfigError, MissingSecretError, ConnectorError, CaseNotFoundError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _run(config: Path | None):
    from closeout.config import load_config
    from closeout.wiring import resolve_config_path
    from flows.pipeline import closeout_pipeline

    # Check the config before a flow run exists: a mistake is the user's, not a failed run on the dashboard.
    path = resolve_config_path(Settings(), config)
    load_config(path)
    return closeout_pipeline(config_path=str(path))


@app.command()
def demo(config: ConfigOption = None) -> None:
    """Run the whole pipeline on the bundled demo data against the local ledger sandbox, then audit."""
    from closeout.presenters import show_audit, show_cases, show_run

    settings = Settings()
    config = config or install_demo_config(settings.resolved_home())
    console.rule("[bold]Closeout demo")
    console.print(f"workspace: {settings.resolved_home()}   config: {config}")
    with _user_errors():
        counts = _run(config)
        show_run(console, counts)
        from closeout.cli_rules import show_decisions

        show_decisions(console, settings)
        with _store(settings) as store:
            from closeout.mail_presenter import show_mail

            show_mail(console, store)
        with _store(settings) as store, store.unit_of_work() as uow:
            open_cases = uow.cases.list(statuses=(CaseStatus.open, CaseStatus.in_progress))
        show_cases(console, open_cases, title="Open cases for a coordinator")
        report = _audit(settings, config)
        show_audit(console, report)
    console.print("Next: [bold]closeout cases show ID[/] explains a case; [bold]closeout audit --json[/] for scripts.")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def run(config: ConfigOption = None) -> None:
    """Run the pipeline once for every company in the config."""
    from closeout.presenters import show_run

    with _user_errors():
        show_run(console, _run(config))


@app.command()
def audit(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Check the invariants (nothing lost, exactly one invoice) and print the counts; exit 1 when one fails."""
    from closeout.presenters import show_audit

    with _user_errors():
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
    from closeout.steps.mail import import_mail
    from closeout.wiring import open_app

    with _user_errors(), open_app(config_path=config) as opened:
        counts = import_mail(opened, path, company_id=company)
    for row in counts.as_rows():
        console.print(f"{row['measure']:>34}: {row['value']}")
    console.print("Next: [bold]closeout run[/] re-evaluates the jobs that gained notes, photos or sign-offs.")


@cases_app.command("list")
def cases_list(
    status: Annotated[list[CaseStatus] | None, typer.Option(help="repeat to allow several")] = None,
    kind: Annotated[list[CaseKind] | None, typer.Option(help="repeat to allow several")] = None,
    company: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOption = False,
) -> None:
    """List cases, newest first (open and in-progress ones unless --status says otherwise)."""
    from closeout.presenters import show_cases

    statuses = status or [CaseStatus.open, CaseStatus.in_progress]
    with _user_errors(), _store(Settings()) as store, store.unit_of_work() as uow:
        found = uow.cases.list(statuses=statuses, kinds=kind or (), company=company)
    if as_json:
        print(json.dumps([case.model_dump(mode="json", exclude={"history"}) for case in found], indent=2))
    else:
        show_cases(console, found)


@cases_app.command("show")
def cases_show(case_id: int, as_json: JsonOption = False) -> None:
    """Show one case: what happened, why, the evidence, what can be done, and its history."""
    from closeout.presenters import show_case

    with _user_errors(), _store(Settings()) as store, store.unit_of_work() as uow:
        case = CaseQueue(uow.cases).get(case_id)
    if as_json:
        print(json.dumps(case.model_dump(mode="json"), indent=2))
    else:
        show_case(console, case)


@contextmanager
def _store(settings: Settings):
    from storage import open_store

    store = open_store(settings.store_url())
    try:
        yield store
    finally:
        store.close()


def _audit(settings: Settings, config: Path | None):
    from closeout.audit import run_audit
    from closeout.wiring import open_app

    with open_app(settings=settings, config_path=config) as application:
        return run_audit(application)


# The queue's decision, user and UI commands live beside this file; importing registers them.
from closeout import cli_queue  # noqa: E402,F401
from closeout import cli_sources  # noqa: E402,F401  (doctor, replay, webhooks, fake-jobber)
from closeout import cli_ledgers  # noqa: E402,F401  (reconcile)
from closeout import cli_rules  # noqa: E402,F401  (rules, explain, preview)
from closeout import cli_setup  # noqa: E402,F401  (setup, health)
from closeout import cli_prefect  # noqa: E402,F401  (serve, dashboard)
