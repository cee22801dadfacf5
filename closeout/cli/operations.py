"""The operations commands of ``closeout``: setup (Prefect blocks and automations) and health."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from closeout.cli.base import ConfigOption, app, console, user_errors
from closeout.orchestration.prefect_api import prefect_api_configured

NOTIFY_URL_VARIABLE = "CLOSEOUT_NOTIFY_WEBHOOK_URL"


@app.command()
def setup(
    config: ConfigOption = None,
    non_interactive: Annotated[bool, typer.Option(
        "--non-interactive", help="read every value from environment variables (CLOSEOUT_<SECRET>_<COMPANY>); "
        "never prompt")] = False,
    automations: Annotated[bool, typer.Option(help="apply the example automations")] = True,
    notify_url: Annotated[str | None, typer.Option(
        help=f"a webhook for the automations' alerts (saved as the block closeout-notify; or ${NOTIFY_URL_VARIABLE})"
    )] = None,
) -> None:
    """Register the credential block types with the Prefect API, create the blocks the config needs, apply
    the example automations. Secrets are typed hidden (or read from the environment) and never printed."""
    from closeout.orchestration import prefect_setup
    from closeout.config import load_config
    from closeout.settings import Settings
    from closeout.wiring import resolve_config_path

    with user_errors():
        cfg = load_config(resolve_config_path(Settings(), config))
        url = prefect_setup.check_prefect_api()
        console.print(f"Prefect API: {url}")
        slugs = prefect_setup.register_block_types()
        console.print(f"registered block types: {', '.join(slugs)}")
        missing = []
        for needed in prefect_setup.needed_blocks(cfg):
            missing += _create_block(needed, non_interactive=non_interactive)
        if automations:
            _apply_automations(prefect_setup, non_interactive=non_interactive, notify_url=notify_url)
    if missing:
        console.print(f"[yellow]setup incomplete:[/] set {', '.join(missing)} and run `closeout setup` again")
        raise typer.Exit(1)
    console.print("Next: [bold]closeout health[/] checks every connection with these credentials.")


def _create_block(needed, *, non_interactive: bool) -> list[str]:
    """Create one block (or keep the one there); returns the env vars still missing in non-interactive mode."""
    slug = needed.block_type.get_block_type_slug()
    label = f"{slug}/{needed.name} ({needed.purpose})"
    exists = needed.exists()
    if non_interactive:
        values, missing = needed.values_from_env()
        if missing:
            if exists:
                console.print(f"kept      {label}: already there")
                return []
            console.print(f"[red]missing[/]   {label}: set {', '.join(missing)}")
            return missing
        needed.save(values)
        console.print(f"{'replaced' if exists else 'created':<9} {label}")
        return []
    if exists and not typer.confirm(f"{label} exists. Replace it?", default=False):
        console.print(f"kept      {label}")
        return []
    console.print(f"[bold]{label}[/]")
    values = {}
    for name, secret, required in needed.fields():
        default = os.environ.get(needed.env.get(name, "")) or needed.defaults.get(name)
        prompt = f"  {name}" + ("" if required else " (optional, Enter to skip)")
        if secret:
            value = typer.prompt(prompt, hide_input=True, default="" if not required else None,
                                 show_default=False) if not default else default
        else:
            value = typer.prompt(prompt, default=default if default else ("" if not required else None))
        if value:
            values[name] = value
    needed.save(values)
    console.print(f"saved     {label}")
    return []


def _apply_automations(prefect_setup, *, non_interactive: bool, notify_url: str | None) -> None:
    notify_url = notify_url or os.environ.get(NOTIFY_URL_VARIABLE)
    block_id = prefect_setup.find_notify_block_id()
    if notify_url:
        block_id = prefect_setup.save_notify_webhook(notify_url)
    elif block_id is None and not non_interactive:
        answer = typer.prompt("Webhook URL for alerts (Slack, Teams...; Enter to skip)", default="",
                              show_default=False, hide_input=True)
        if answer:
            block_id = prefect_setup.save_notify_webhook(answer)
    applied = prefect_setup.apply_automations(prefect_setup.automation_files(), notify_block_id=block_id)
    for name, enabled in applied:
        console.print(f"automation {name}: {'enabled' if enabled else 'created disabled'}")
    if block_id is None and applied:
        console.print(f"[yellow]no notification block {prefect_setup.NOTIFY_BLOCK!r}:[/] the automations are "
                      f"disabled; pass --notify-url (or create the block in the Prefect UI) and run setup again")


@app.command()
def health(
    config: ConfigOption = None,
    stale_after_hours: Annotated[float, typer.Option(help="a mailbox whose newest message is older is stale")] = 72,
    token_warning_days: Annotated[float | None, typer.Option(
        help="warn when a ledger refresh token ends sooner (default: the ledger's refresh_warning_days)")] = None,
) -> None:
    """Check every source, mailbox and ledger connection once; open cases for problems; exit 1 when one fails."""
    from datetime import timedelta

    from services.health import check_company, record_problems
    from closeout.wiring import open_app

    emit = _event_emitter()
    with user_errors(), open_app(config_path=config) as application:
        rows = []
        for company in application.companies():
            rows += check_company(application, company, stale_after=timedelta(hours=stale_after_hours),
                                  token_warning=timedelta(days=token_warning_days) if token_warning_days else None)
        opened = record_problems(application, rows, emit=emit)
    table = Table(title="Closeout health", title_justify="left")
    for column in ("component", "ok", "detail", "latency ms"):
        table.add_column(column)
    for row in rows:
        cells = row.as_row()
        cells["ok"] = "[green]yes[/]" if row.ok else f"[red]{row.problem}[/]"
        table.add_row(*cells.values())
    console.print(table)
    failing = [row for row in rows if not row.ok]
    console.print(f"{len(rows)} checked, {len(failing)} with a problem, {opened} new case(s)")
    if failing:
        raise typer.Exit(1)


def _event_emitter():
    """Prefect's emit_event when an API is configured (events need one); else none (no temporary server)."""
    if not prefect_api_configured():
        return None
    from prefect.events import emit_event

    return emit_event
