"""`closeout notify send|digest|list`: notifications by e-mail and webhook, without a Prefect server."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.text import Text

from closeout.cli.base import ConfigOption, JsonOption, app, console, user_errors

notify_app = typer.Typer(help="Notifications: case assigned, high-severity cases, the daily digest.",
                         no_args_is_help=True)
app.add_typer(notify_app, name="notify")


@notify_app.command("send")
def notify_send(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Record a notice for each new high-severity case, then send every notice that is due (retries included)."""
    from closeout.notifiers import open_notifiers
    from closeout.wiring import open_app
    from services.notify import record_high_severity, send_due

    with user_errors(), open_app(config_path=config) as application:
        record_high_severity(application.store, application.config)
        with open_notifiers(application.config) as notifier_for:
            report = send_due(application.store, notifier_for)
    _show(report, as_json)


@notify_app.command("digest")
def notify_digest(
    company: Annotated[str, typer.Option("--company", help="the company's id (see the config)")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Today's digest for each person with an e-mail who takes cases, then send what is due. Once a day: a second
    call the same day (the company's time zone) sends no digest again."""
    from closeout.notifiers import open_notifiers
    from closeout.wiring import open_app
    from services.notify import record_digests, send_due

    with user_errors(), open_app(config_path=config) as application:
        recorded = record_digests(application.store, application.config.company(company))
        with open_notifiers(application.config) as notifier_for:
            report = send_due(application.store, notifier_for)
    if not as_json:
        console.print(Text(f"digests recorded today: {len(recorded)}"))
    _show(report, as_json, recorded=recorded)


@notify_app.command("list")
def notify_list(
    status: Annotated[str | None, typer.Option(help="pending, sent or failed")] = None,
    as_json: JsonOption = False,
) -> None:
    """The newest notifications: kind, recipient, status, attempts and the last error."""
    from closeout.cli.base import open_store
    from closeout.settings import Settings
    from notifications import NoticeStatus
    from services.notify import notices

    if status is not None and status not in {s.value for s in NoticeStatus}:
        console.print(Text(f"error: --status is pending, sent or failed, not {status!r}"))
        raise typer.Exit(2)
    with user_errors(), open_store(Settings()) as store:
        found = notices(store, status=NoticeStatus(status) if status else None)
    if as_json:
        typer.echo(json.dumps([{"key": r.notice.key, "kind": str(r.notice.kind), "company": r.notice.company,
                                "case_id": r.notice.case_id, "recipient": r.notice.recipient,
                                "channel": str(r.notice.channel), "status": str(r.status), "attempts": r.attempts,
                                "last_error": r.last_error, "created_at": r.created_at.isoformat(),
                                "sent_at": r.sent_at.isoformat() if r.sent_at else None} for r in found], indent=2))
        return
    if not found:
        console.print("Notifications: none.")
    for r in found:
        line = f"{r.status:8} {r.notice.kind:22} {r.notice.recipient} ({r.notice.channel}) attempts {r.attempts}"
        console.print(Text(line + (f": {r.last_error}" if r.last_error else "")))


def _show(report, as_json: bool, *, recorded: list[str] | None = None) -> None:
    if as_json:
        body = {"sent": report.sent, "retrying": [{"key": k, "error": e} for k, e in report.retrying],
                "failed": [{"key": k, "error": e} for k, e in report.failed]}
        if recorded is not None:
            body["recorded"] = recorded
        typer.echo(json.dumps(body, indent=2))
        return
    console.print(Text(f"notifications sent: {len(report.sent)}, to retry: {len(report.retrying)}, "
                       f"failed: {len(report.failed)}"))
    for key, error in report.retrying + report.failed:
        console.print(Text(f"  {key}: {error}"))
