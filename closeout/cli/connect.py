"""The connection commands of ``closeout``: connect and disconnect (registered when closeout.cli imports this)."""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import Annotated

import typer

from closeout.cli.base import ConfigOption, app, console, user_errors


class System(str, Enum):
    quickbooks = "quickbooks"
    xero = "xero"
    jobber = "jobber"
    mailbox = "mailbox"


CompanyOption = Annotated[str, typer.Option("--company", help="the company's id in the config")]
SourceOption = Annotated[str | None, typer.Option("--source", help="jobber: the source's name, when the company "
                                                                   "has several Jobber sources")]
MailboxOption = Annotated[str | None, typer.Option("--mailbox", help="mailbox: the mailbox's name, when the company "
                                                                     "has several OAuth2 mailboxes")]


def _say(line: str) -> None:
    # soft_wrap: the authorize URL stays one line (a wrapped one cannot be pasted); flush: a script reading the
    # output through a pipe needs the URL while the listener waits
    console.print(line, markup=False, highlight=False, soft_wrap=True)
    sys.stdout.flush()


def _gui_browser() -> bool:
    """Whether ``webbrowser`` would open a graphical browser; on a server it would start a text browser in
    this terminal instead, so the address is only printed there."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _ask_tenant(default: str):
    def choose(connected: list[tuple[str, str]]) -> str:
        for number, (ident, name) in enumerate(connected, 1):
            _say(f"  {number}. {name} ({ident})")
        ids = [ident for ident, _ in connected]
        first = str(ids.index(default) + 1) if default in ids else None
        answer = typer.prompt("Which Xero organisation is this company's? (number)", default=first)
        try:
            return ids[int(answer) - 1]
        except (ValueError, IndexError):
            return str(answer)  # an id typed in: connect checks it against the connected ones

    return choose


@app.command()
def connect(
    system: Annotated[System, typer.Argument(help="what to connect")],
    company: CompanyOption,
    port: Annotated[int | None, typer.Option(help="the local listener's port on 127.0.0.1 (default 8770): the "
                                                  "app's registered redirect URI must name it")] = None,
    redirect_uri: Annotated[str | None, typer.Option(
        "--redirect-uri", help="the redirect URI registered with the app (default http://localhost:PORT/callback); "
                               "an https one must forward to this machine's listener")] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="only print the address to open")] = False,
    tenant: Annotated[str | None, typer.Option("--tenant", help="xero: the organisation (tenant id) to use when "
                                                                "several are connected")] = None,
    source: SourceOption = None,
    mailbox: MailboxOption = None,
    scope: Annotated[str | None, typer.Option("--scope", help="the scopes to ask for, space-separated (default: "
                                                              "what Closeout needs)")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the browser's answer")] = 300.0,
    config: ConfigOption = None,
) -> None:
    """Connect a company's QuickBooks Online, Xero or Jobber, or an OAuth2 mailbox (Microsoft 365, Google): approve
    in the browser, and the tokens go where the runs read them; a first call proves it. The README's "Connect a
    real company" says what to register."""
    import webbrowser

    from closeout.credentials.connect import connect as run_flow
    from closeout.credentials.connect import resolve
    from closeout.wiring import open_app

    with user_errors(), open_app(config_path=config) as application:
        if system is System.mailbox:
            from closeout.credentials.connect_mailbox import resolve_mailbox

            target = resolve_mailbox(application, company, mailbox, scope=scope)
        else:
            target = resolve(application, system.value, company, source=source, scope=scope)
        opener = webbrowser.open if not no_browser and _gui_browser() else None
        hint = None if no_browser or opener else (
            "No graphical browser here: open that address in a browser on this machine, or forward the listener's "
            "port to your own computer (ssh -L PORT:localhost:PORT) and open it there.")
        chooser = _ask_tenant(target.company.ledger.tenant_id) if sys.stdin.isatty() else None
        line = run_flow(target, port=port, redirect_uri=redirect_uri, open_browser=opener, tenant=tenant,
                        choose_tenant=chooser, timeout=timeout, say=_say, hint=hint)
    _say(line)


@app.command()
def disconnect(system: Annotated[System, typer.Argument(help="what to disconnect")], company: CompanyOption,
               source: SourceOption = None, mailbox: MailboxOption = None, config: ConfigOption = None) -> None:
    """Revoke a company's QuickBooks Online, Xero or Jobber tokens at the provider and remove them from the vault;
    the company's runs stop using that connection until `closeout connect` makes a new one."""
    from closeout.credentials.connect import disconnect as run_disconnect
    from closeout.credentials.connect import resolve
    from closeout.wiring import open_app

    with user_errors(), open_app(config_path=config) as application:
        if system is System.mailbox:
            from closeout.credentials.connect_mailbox import disconnect_mailbox, resolve_mailbox

            line = disconnect_mailbox(resolve_mailbox(application, company, mailbox))
        else:
            line = run_disconnect(resolve(application, system.value, company, source=source))
    _say(line)
