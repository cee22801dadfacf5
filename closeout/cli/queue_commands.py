"""The queue's commands: `closeout cases assign|resolve|ignore|reopen|replay|link|fix-price`, `users ...`, `ui`."""

from __future__ import annotations

import getpass
import json
import os
import sys
from contextlib import contextmanager
from typing import Annotated

import typer

from closeout.cli.base import ConfigOption, JsonOption, app, cases_app, console, open_store, user_errors, users_app
from closeout.settings import Settings
from exceptions_queue.desk import DecisionError
from exceptions_queue.service import CaseQueue, CaseTransitionError
from exceptions_queue.users import Role, UserError

ActorOption = Annotated[str | None, typer.Option("--as", help="who decides (default: cli:<your login>)")]
NoteOption = Annotated[str, typer.Option("--note", "-m", help="why: kept in the case's history")]
PASSWORD_VARIABLE = "CLOSEOUT_PASSWORD"


def _actor(given: str | None) -> str:
    return given or f"cli:{getpass.getuser()}"


@contextmanager
def _decisions():
    """Decision mistakes (an ignore without a reason, reopening an open case) are one clear line, exit 2."""
    with user_errors():
        try:
            yield
        except (CaseTransitionError, DecisionError, UserError) as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None


def _decide(case_id: int, as_json: bool, change) -> None:
    with _decisions(), open_store(Settings()) as store, store.unit_of_work() as uow:
        case = change(CaseQueue(uow.cases, clock=uow.clock))
        uow.commit()
    if as_json:
        print(json.dumps(case.model_dump(mode="json"), indent=2))
    else:
        last = case.history[-1]
        console.print(f"case #{case.id}: {case.status} (assignee {case.assignee or 'nobody'}) — {last.action}"
                      f"{': ' + last.note if last.note else ''}")


@cases_app.command("assign")
def cases_assign(case_id: int, assignee: str, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Give a case to someone; an open case becomes in progress."""
    _decide(case_id, as_json, lambda q: q.assign(case_id, actor=_actor(actor), assignee=assignee))


@cases_app.command("resolve")
def cases_resolve(case_id: int, note: NoteOption = "", actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Mark a case resolved (say what you did with --note)."""
    _decide(case_id, as_json, lambda q: q.resolve(case_id, actor=_actor(actor), note=note))


@cases_app.command("ignore")
def cases_ignore(case_id: int, note: NoteOption = "", actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Ignore a case; --note with the reason is required. `cases reopen` undoes it."""
    _decide(case_id, as_json, lambda q: q.ignore(case_id, actor=_actor(actor), note=note))


@cases_app.command("reopen")
def cases_reopen(case_id: int, note: NoteOption = "", actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Open a resolved or ignored case again."""
    _decide(case_id, as_json, lambda q: q.reopen(case_id, actor=_actor(actor), note=note))


@cases_app.command("replay")
def cases_replay(case_id: int, config: ConfigOption = None, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Run the downstream steps (rules, draft, push) for this case's work order only, and show the outcome."""
    from services.replay_case import replay_case
    from closeout.wiring import open_app

    with _decisions(), open_app(config_path=config) as application:
        result = replay_case(application, case_id, actor=_actor(actor))
    if as_json:
        print(json.dumps({"case": case_id, "outcome": result.outcome, "message": result.message,
                          "resolved": result.resolved, "ledger_id": result.ledger_id}, indent=2))
    else:
        console.print(f"case #{case_id}: {result.outcome} — {result.message}")


@cases_app.command("link")
def cases_link(case_id: int, work_order: Annotated[str, typer.Argument(help="work order id or job number")],
               config: ConfigOption = None, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Link an unmatched email's case to a work order: its evidence goes on the job and the case is resolved."""
    from services.casework import link_email
    from closeout.wiring import open_app

    with _decisions(), open_app(config_path=config) as application:
        case = link_email(application, case_id, work_order, actor=_actor(actor))
    linked = next(entry for entry in reversed(case.history) if entry.action == "email_linked")
    if as_json:
        print(json.dumps(case.model_dump(mode="json"), indent=2))
    else:
        console.print(f"case #{case.id}: {case.status} — {linked.note}")


# "-3" must reach the price check (and be refused in words), not read as an unknown option.
@cases_app.command("fix-price", context_settings={"ignore_unknown_options": True})
def cases_fix_price(case_id: int, line: Annotated[str, typer.Argument(help="the line's source id")],
                    price: Annotated[str, typer.Argument(help="new unit price, e.g. 120.00")],
                    note: NoteOption = "", config: ConfigOption = None, actor: ActorOption = None,
                    as_json: JsonOption = False) -> None:
    """Set a new unit price for one line of the case's job (--note with the reason is required), then replay it.

    The price holds while the source still shows the price it replaced; a change at the source wins.
    """
    from services.casework import LINKERS, fix_price
    from closeout.wiring import open_app

    who = _actor(actor)
    with _decisions(), open_app(config_path=config) as application:
        with application.store.unit_of_work() as uow:
            person = uow.users.get(who)
        if person is not None and person.role not in LINKERS:
            raise DecisionError(f"{who} is a {person.role}: only a coordinator or an admin fixes a price")
        case = fix_price(application, case_id, line, price, note, actor=who)
    replayed = next((e for e in reversed(case.history) if e.action == "replayed"), None)
    if as_json:
        print(json.dumps(case.model_dump(mode="json"), indent=2))
    else:
        console.print(f"case #{case.id}: {case.status} — {replayed.note if replayed else 'price fixed'}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return os.environ.get(PASSWORD_VARIABLE) or typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[Role, typer.Option(help="viewer, coordinator, finance or admin")] = Role.coordinator,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Add a user (or reset one's role and password). The password is asked for, read from stdin, or $CLOSEOUT_PASSWORD."""
    from services.users import add_user

    password = _read_password(password_stdin)
    with _decisions(), open_store(Settings()) as store:
        user = add_user(store, username, role, password, actor=_actor(None))
    console.print(f"{user.username} can sign in as {user.role}.")


@users_app.command("hash")
def users_hash(
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Print a password hash for a `[[users]]` entry of the config file (the password itself never goes there)."""
    from exceptions_queue.users import hash_password

    with _decisions():
        print(hash_password(_read_password(password_stdin)))


@users_app.command("list")
def users_list(as_json: JsonOption = False) -> None:
    """Everyone who can sign in, with their role."""
    with user_errors(), open_store(Settings()) as store, store.unit_of_work() as uow:
        people = uow.users.all()
    if as_json:
        print(json.dumps([p.model_dump(mode="json") for p in people], indent=2))
        return
    for person in people:
        console.print(f"{person.username:24} {person.role}")


@users_app.command("token")
def users_token(username: str, label: Annotated[str, typer.Option(help="what the token is for")] = "script") -> None:
    """Issue a bearer token for the JSON API; it is printed once and only its digest is kept."""
    from services.users import create_token

    with _decisions(), open_store(Settings()) as store:
        print(create_token(store, username, label=label, actor=_actor(None)))


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="port")] = 8700,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    config: ConfigOption = None,
    secure_cookies: Annotated[bool, typer.Option(help="set when served over HTTPS")] = False,
) -> None:
    """Serve the exception queue's web UI (sign in with a user from `closeout users add`)."""
    from closeout.ui import serve_ui

    console.print(f"Closeout queue on http://{host}:{port}/ ; Ctrl-C stops it.")
    with user_errors():
        serve_ui(host=host, port=port, config_path=config, secure_cookies=secure_cookies)
