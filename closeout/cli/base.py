"""The leaf of the `closeout` command: the Typer apps, the shared options and helpers every command group uses.

It imports no other ``closeout.cli`` module; the command modules import from here and register themselves
on these apps when ``closeout.cli`` imports them.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.config import ConfigError
from services.config import MissingSecretError
from closeout.settings import Settings
from closeout.workspace import PRIVATE_UMASK
from connectors.errors import ConnectorError
from exceptions_queue.desk import DecisionError
from exceptions_queue.service import CaseNotFoundError
from exceptions_queue.users import Role, User, check_username
from services.runtime import Users

app = typer.Typer(help="Closeout: field-service jobs to invoices, exactly once, with a visible exception queue.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
cases_app = typer.Typer(help="The exception queue.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")
mail_app = typer.Typer(help="Mail: import exported mailboxes (IMAP mailboxes are read by the flows).", no_args_is_help=True)
app.add_typer(mail_app, name="mail")
users_app = typer.Typer(help="People who sign in to the queue's web UI.", no_args_is_help=True)
app.add_typer(users_app, name="users")
# Piped output (make, CI logs) would otherwise wrap every table at 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=140)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="company config file (TOML)")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]

# The errors that are a user's mistake or an unreachable system, not a bug: one line and this exit code.
USER_ERRORS = (ConfigError, MissingSecretError, ConnectorError, CaseNotFoundError)
USER_ERROR_EXIT_CODE = 2


@app.callback()
def _defaults() -> None:
    # Prefect phones home by default; this machine (and many customers') has no internet.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.umask(PRIVATE_UMASK)  # the demo config and anything else a command writes is its user's alone


@contextmanager
def user_errors() -> Iterator[None]:
    """A user's mistake or an unreachable system gets one clear line and exit code 2, never a traceback."""
    try:
        yield
    except USER_ERRORS as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise typer.Exit(USER_ERROR_EXIT_CODE) from None


def shell_login() -> str:
    """Who runs this command, as the record names them when no ``--as`` is given."""
    return f"cli:{getpass.getuser()}"


def decider(users: Users, given: str | None) -> User:
    """Who decides: the user ``--as`` names, who must be one of the store's (DecisionError otherwise); without it
    the shell's own login, trusted as an admin (whoever can run this command can change the workspace's store)."""
    if given is None:
        return User(username=shell_login(), role=Role.admin)
    person = users.get(check_username(given))
    if person is None:
        raise DecisionError(f"no user {given!r} for --as: it names someone of `closeout users list`")
    return person


@contextmanager
def open_store(settings: Settings):
    """The workspace's store, closed on the way out."""
    from storage import open_store as open_storage

    store = open_storage(settings.store_url())
    try:
        yield store
    finally:
        store.close()


def show_decisions(console: Console, settings: Settings) -> None:
    """The decisions of the latest versions that did something other than pass: what `make demo` shows."""
    from workorders.decisions import Outcome

    rows = []
    with open_store(settings) as store, store.unit_of_work() as uow:
        for order in uow.work_orders.latest():
            for d in uow.decisions.for_work_order(order.id, order.version):
                if d.outcome is not Outcome.passed:
                    rows.append((order.job_number, order.id, d))
    table = Table(title=f"Rule decisions other than pass ({len(rows)})", title_justify="left")
    for column in ("job", "work order", "rule", "outcome", "reason"):
        table.add_column(column, overflow="fold")
    for job_number, work_order_id, d in sorted(rows, key=lambda row: (row[0], row[2].rule_id)):
        table.add_row(job_number, work_order_id, d.rule_id, d.outcome.value, d.reason)
    console.print(table)
    blocked = [row for row in rows if row[2].outcome is Outcome.block]
    if blocked:
        console.print(f"Why? [bold]closeout explain {blocked[0][0]}[/] shows every decision about that job, "
                      "with its evidence.")


__all__ = [
    "USER_ERRORS", "USER_ERROR_EXIT_CODE", "ConfigOption", "JsonOption", "app", "cases_app", "console",
    "decider", "mail_app", "open_store", "shell_login", "show_decisions", "user_errors", "users_app",
]
