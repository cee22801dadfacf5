"""The source commands of ``closeout``: doctor, replay, webhooks and fake-jobber (registered by importing this)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from closeout.cli.base import ConfigOption, app, console, user_errors
from closeout.orchestration.prefect_api import prefect_api_configured
from closeout.settings import BUNDLED_DEMO_CONFIG

if TYPE_CHECKING:
    from services.preflight import UnknownCode


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Check that every configured source can be reached and authenticated, and that every code the mapping tables
    name exists in the company's ledger (preflight); exit 1 when either fails."""
    from services.doctor import check_mappings, check_sources
    from closeout.wiring import open_app

    with user_errors(), open_app(config_path=config) as application:
        results = check_sources(application)
        mappings = check_mappings(application)
    for result in results:
        mark = "[green]ok[/]" if result.ok else "[red]FAILED[/]"
        console.print(f"{mark}  {result.company} / {result.source} ({result.kind}): {result.detail}")
    if not results:
        console.print("no sources are configured")
    for check in mappings:
        mark = "[green]ok[/]" if check.ok else "[red]FAILED[/]"
        console.print(f"{mark}  {check.company} / mappings ({check.ledger}): {escape(check.detail)}")
        for line in _unknown_lines(check.unknown):
            console.print(f"      {escape(line)}")
    if not all(result.ok for result in results) or not all(check.ok for check in mappings):
        raise typer.Exit(1)


def _unknown_lines(unknown: Sequence[UnknownCode], *, shown: int = 4) -> list[str]:
    """One line per wrong code, naming the entries that use it: thirty items mapped to "Parts" are one mistake."""
    groups: dict[tuple[str, str, str], list[UnknownCode]] = {}
    for entry in unknown:
        groups.setdefault((entry.kind, entry.code, entry.problem), []).append(entry)
    lines = []
    for entries in groups.values():
        first, more = entries[0], len(entries) - shown
        names = ", ".join(e.entry for e in entries[:shown]) + (f" and {more} more" if more > 0 else "")
        lines.append(first.describe(entries=names))
    return lines


@app.command()
def replay(
    source: Annotated[str, typer.Option("--source", "-s", help="source kind, e.g. jobber")],
    company: Annotated[str | None, typer.Option(help="needed when several companies have that source")] = None,
    config: ConfigOption = None,
) -> None:
    """Map a source's stored raw payloads again (after a mapping fix) without calling the source."""
    from services.replay import replay_source
    from closeout.wiring import open_app

    with user_errors(), open_app(config_path=config) as application:
        counts = replay_source(application, source, company_id=company)
    opened = sum(counts.cases_opened.values())
    console.print(f"replayed {counts.pulled} {source} jobs: {counts.changed} work orders changed, "
                  f"{opened} cases opened, {counts.cases_resolved} cases resolved")


@app.command()
def webhooks(
    port: Annotated[int, typer.Option(help="port to listen on")] = 8780,
    host: Annotated[str, typer.Option(help="interface; put a TLS-terminating proxy in front in production")] = "127.0.0.1",
    config: ConfigOption = None,
) -> None:
    """Receive signed source webhooks at POST /webhooks/{company}/{source} and pull the job each one names."""
    import uvicorn

    from closeout.webhooks import build_webhook_app
    from closeout.wiring import open_app

    with user_errors(), open_app(config_path=config) as application:
        api = build_webhook_app(application, config_path=str(config) if config else None)
        console.print(f"Webhook receiver on http://{host}:{port}/webhooks/{{company}}/{{source}}; Ctrl-C stops it.")
        if not prefect_api_configured():
            uvicorn.run(api, host=host, port=port, log_level="info")
            return
        # With a Prefect API, pulls are runs of closeout-pull-job/webhooks, served here; the receiver runs beside.
        from prefect import serve

        from closeout.orchestration.deployments import PULL_JOB_DEPLOYMENT as DEPLOYMENT
        from closeout.orchestration.deployments import PULL_JOB_DEPLOYMENT_NAME as DEPLOYMENT_NAME
        from closeout.orchestration.deployments import PULL_JOB_ENTRYPOINT, load_flow

        server = uvicorn.Server(uvicorn.Config(api, host=host, port=port, log_level="info"))
        threading.Thread(target=server.run, daemon=True, name="webhook-receiver").start()
        console.print(f"Serving the Prefect deployment {DEPLOYMENT} for webhook pulls.")
        serve(load_flow(PULL_JOB_ENTRYPOINT).to_deployment(name=DEPLOYMENT_NAME), limit=4)
        server.should_exit = True


@app.command("fake-jobber")
def fake_jobber(port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8766) -> None:
    """Serve a fake Jobber (OAuth + GraphQL jobs) for the demo; the printed commands run Closeout against it."""
    from sandbox.fake_jobber import FAKE_REFRESH_TOKEN, serve_fake_jobber

    demo_config = Path(BUNDLED_DEMO_CONFIG).with_name("jobber.toml")
    console.print(f"Fake Jobber on http://127.0.0.1:{port} (the demo config expects port 8766); Ctrl-C stops it.")
    console.print("In another shell:\n"
                  "  export CLOSEOUT_JOBBER_CLIENT_ID_NORTHWIND=demo CLOSEOUT_JOBBER_CLIENT_SECRET_NORTHWIND=demo\n"
                  f"  export CLOSEOUT_JOBBER_REFRESH_TOKEN_NORTHWIND={FAKE_REFRESH_TOKEN}\n"
                  f"  closeout doctor --config {demo_config}\n"
                  f"  closeout run --config {demo_config}")
    serve_fake_jobber(host="127.0.0.1", port=port)
