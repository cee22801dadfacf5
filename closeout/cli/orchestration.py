"""The Prefect commands of ``closeout``: serve (every deployment, one process) and dashboard (a local server)."""

from __future__ import annotations

import os
import signal
from typing import Annotated

import typer

from closeout.cli.base import ConfigOption, app, console, user_errors
from services.config import ConfigError
from closeout.settings import Settings


@app.command()
def serve(
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(help="the most flow runs at once in this process")] = 4,
) -> None:
    """Serve every deployment of prefect.yaml with its schedule from this one process (no worker); Ctrl-C stops.

    Needs a Prefect server (its scheduler creates the runs): `closeout dashboard` in another terminal,
    then export the PREFECT_API_URL it prints.
    """
    from closeout.config import load_config
    from closeout.orchestration.prefect_api import prefect_api_configured
    from closeout.wiring import resolve_config_path

    with user_errors():
        settings = Settings()
        path = resolve_config_path(settings, config).resolve()
        load_config(path)  # a broken config is the user's mistake now, not a failed run every 15 minutes
        if not prefect_api_configured():
            raise ConfigError("no Prefect server: set PREFECT_API_URL (start one with `closeout dashboard`)")
    # The flow runs are child processes: they find the workspace and the config through the environment.
    os.environ["CLOSEOUT_HOME"] = str(settings.resolved_home())
    os.environ["CLOSEOUT_CONFIG"] = str(path)
    from prefect import serve as serve_deployments

    from closeout.orchestration.deployments import build_runner_deployments, missing_flow_files

    for name in missing_flow_files():
        console.print(f"[yellow]skipped[/] deployment {name}: its flow file is not in this checkout")
    serve_deployments(*build_runner_deployments(), limit=limit)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(help="the port on 127.0.0.1")] = 4200,
) -> None:
    """Start a local Prefect server (SQLite in the workspace) and say where to look; Ctrl-C stops it."""
    from closeout.orchestration.prefect_server import start_prefect_server, stop_prefect_server

    home = Settings().resolved_home()
    log = home / "prefect" / "server.log"
    console.print(f"Starting the Prefect server on 127.0.0.1:{port} (database and log in {log.parent}) ...")
    try:
        server = start_prefect_server(home, port=port, log=log)
    except RuntimeError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    # From here a Ctrl-C or a service manager's stop, even one that comes while the lines below are printed,
    # stops the server (and what it started) before the command ends.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        console.print(f"Prefect UI:  {server.url}", highlight=False)
        console.print(f"In other terminals:  export PREFECT_API_URL={server.api_url}", highlight=False)
        console.print("Then `closeout serve` runs the deployments on their schedules. Ctrl-C stops the server.")
        server.process.wait()
    except KeyboardInterrupt:
        console.print("Stopping the Prefect server ...")
    finally:
        stop_prefect_server(server)
    if server.process.returncode not in (0, -2, -15):
        console.print(f"[red]error:[/] the Prefect server stopped (exit {server.process.returncode}); see {log}")
        raise typer.Exit(1)
