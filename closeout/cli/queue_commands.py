"""The queue's decisions as commands, ``closeout cases NAME`` under the names the case page and the JSON API use
(``exceptions_queue.desk.DECISION_NAMES``), and `users ...`, `ui`.

Each decision is the desk's own (``services.casework``): the CLI only finds who decides, calls it, and says what
came of it. Exit codes: 0 done; 1 recorded, but the replay it ran did not clear the case (the ledger refused, a
rule still blocks); 2 refused as asked (an unknown case, user, company or job, a missing reason).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from closeout.cli.base import (ConfigOption, JsonOption, app, cases_app, console, decider, open_store, shell_login,
                               user_errors, users_app)
from closeout.settings import Settings
from exceptions_queue.cases import Case
from exceptions_queue.desk import OUTCOME_NAMES, DecisionError, replay_after
from exceptions_queue.service import CaseQueue, CaseTransitionError
from exceptions_queue.users import Role, User, UserError

if TYPE_CHECKING:
    from services.casework import StoreDesk

ActorOption = Annotated[str | None, typer.Option("--as", help="who decides: a user of `closeout users list` "
                                                              "(default: cli:<your login>)")]
NoteOption = Annotated[str, typer.Option("--note", "-m", help="why: kept in the case's history")]
CaseArgument = Annotated[int, typer.Argument(help="the case's number (closeout cases list)")]
PASSWORD_VARIABLE = "CLOSEOUT_PASSWORD"
NOT_CLEARED_EXIT_CODE = 1


@contextmanager
def _decisions():
    """Decision mistakes (an ignore without a reason, reopening an open case, a viewer deciding) are one clear
    line, exit 2."""
    with user_errors():
        try:
            yield
        except (CaseTransitionError, DecisionError, UserError, PermissionError) as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
            raise typer.Exit(2) from None


def _decide(case_id: int, decision: str, actor: str | None, as_json: bool, **fields: str) -> Case:
    """One of the desk's plain decisions (``services.casework.DECISIONS``), on the workspace's store."""
    from services.casework import take_decision

    with _decisions(), open_store(Settings()) as store:
        with store.unit_of_work() as uow:
            person = decider(uow.users, actor)
        case = take_decision(store, case_id, decision, actor=person, fields=fields)
    if as_json:
        print(json.dumps(case.model_dump(mode="json"), indent=2))
    else:
        last = case.history[-1]
        console.print(f"case #{case.id}: {case.status} (assignee {case.assignee or 'nobody'}) — {last.action}"
                      f"{': ' + last.note if last.note else ''}", markup=False, highlight=False, soft_wrap=True)
    return case


def _on_desk(case_id: int, config: Path | None, actor: str | None,
             decide: Callable[[StoreDesk, User], Case]) -> tuple[Case, int]:
    """A decision that needs the config (mappings, the ledger): the case after it, and how long its history was
    before, so the output tells what this decision added."""
    from closeout.wiring import open_app
    from services.casework import StoreDesk

    with _decisions(), open_app(config_path=config) as application:
        with application.store.unit_of_work() as uow:
            person = decider(uow.users, actor)
            before = len(CaseQueue(uow.cases).get(case_id).history)
        return decide(StoreDesk(application), person), before


def _say_replayed(case: Case, before: int, as_json: bool, *, done: str) -> None:
    """The case after a decision that replays its job; exit 1 when the replay ran and the case is still open.

    A refusal (the ledger's, a rule's) is printed as one, never in the words of a success."""
    replay = replay_after(case, before)
    cleared = replay is None or not case.is_open
    if as_json:
        print(json.dumps(case.model_dump(mode="json"), indent=2))
    elif replay is None:
        console.print(f"case #{case.id}: {case.status} — {done}", markup=False, highlight=False, soft_wrap=True)
    elif cleared:
        console.print(f"case #{case.id}: [green]{case.status}[/] — {escape(replay.note)}", highlight=False,
                      soft_wrap=True)
    else:
        console.print(f"case #{case.id}: [red]not cleared[/], still {case.status} — {escape(replay.note)}",
                      highlight=False, soft_wrap=True)
    if not cleared:
        raise typer.Exit(NOT_CLEARED_EXIT_CODE)


@cases_app.command("assign")
def cases_assign(case_id: CaseArgument,
                 assignee: Annotated[str, typer.Argument(help="a user of `closeout users list`")],
                 actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Give a case to a user who signs in; an open case becomes in progress."""
    _decide(case_id, "assign", actor, as_json, assignee=assignee)


@cases_app.command("start")
def cases_start(case_id: CaseArgument, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Mark an open case as being worked on, without giving it to anyone."""
    _decide(case_id, "start", actor, as_json)


@cases_app.command("unassign")
def cases_unassign(case_id: CaseArgument, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Take a case back from whoever has it."""
    _decide(case_id, "unassign", actor, as_json)


OutcomeOption = Annotated[str | None, typer.Option(
    "--outcome", help="for a case about a blocked job, what becomes of the job: " + " | ".join(OUTCOME_NAMES)
    + " (invoice it on the next run with an override; log that it needs no invoice; keep the case open until the "
      "source sends a new version); --note is the reason")]


@cases_app.command("resolve")
def cases_resolve(case_id: CaseArgument, note: NoteOption = "", outcome: OutcomeOption = None,
                  config: ConfigOption = None, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Mark a case resolved (say what you did with --note); a case about a blocked job needs --outcome."""
    if outcome is None:
        _decide(case_id, "resolve", actor, as_json, note=note)
        return
    case, _ = _on_desk(case_id, config, actor, lambda desk, person: desk.decide(
        case_id, "resolve", actor=person, fields={"note": note, "outcome": outcome}))
    if as_json:
        print(json.dumps(case.model_dump(mode="json"), indent=2))
        return
    sent = next((e.note for e in reversed(case.history) if e.action == "resolved"), "").removeprefix("invoice anyway: ")
    then = {"invoice_anyway": sent, "bill_nothing": "the job is not billed, and explain says why",
            "wait": "the case stays open; the source's next version of the job is judged again"}
    console.print(f"case #{case.id}: {case.status} — {outcome.strip()}: {' '.join(note.split())}; "
                  f"{then.get(outcome.strip(), '')}", markup=False, highlight=False, soft_wrap=True)


@cases_app.command("ignore")
def cases_ignore(case_id: CaseArgument, note: NoteOption = "", actor: ActorOption = None,
                 as_json: JsonOption = False) -> None:
    """Ignore a case; --note with the reason is required. `cases undo_ignore` takes it back."""
    _decide(case_id, "ignore", actor, as_json, note=note)


@cases_app.command("undo_ignore")
def cases_undo_ignore(case_id: CaseArgument, note: NoteOption = "", actor: ActorOption = None,
                      as_json: JsonOption = False) -> None:
    """Take back an ignore: the case is open again, and both steps stay in its history."""
    _decide(case_id, "undo_ignore", actor, as_json, note=note)


@cases_app.command("reopen")
def cases_reopen(case_id: CaseArgument, note: NoteOption = "", actor: ActorOption = None,
                 as_json: JsonOption = False) -> None:
    """Open a resolved or ignored case again."""
    _decide(case_id, "reopen", actor, as_json, note=note)


@cases_app.command("tag")
def cases_tag(case_id: CaseArgument, tag: str, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Add a tag (lower-cased; 1 to 40 characters)."""
    _decide(case_id, "tag", actor, as_json, tag=tag)


@cases_app.command("untag")
def cases_untag(case_id: CaseArgument, tag: str, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Remove a tag."""
    _decide(case_id, "untag", actor, as_json, tag=tag)


@cases_app.command("comment")
def cases_comment(case_id: CaseArgument, note: NoteOption = "", actor: ActorOption = None,
                  as_json: JsonOption = False) -> None:
    """Add a comment (--note) to the case's history."""
    _decide(case_id, "comment", actor, as_json, note=note)


@cases_app.command("approve_override")
def cases_approve_override(case_id: CaseArgument, note: NoteOption = "", actor: ActorOption = None,
                           as_json: JsonOption = False) -> None:
    """Let a blocked job be invoiced despite its rules (--note with the reason is required); replay to apply it."""
    case = _decide(case_id, "approve_override", actor, as_json, note=note)
    if not as_json:
        console.print(f"Next: [bold]closeout cases replay {case.id}[/] invoices the job with the override.")


CustomerNoteOption = Annotated[str, typer.Option("--note", "-m", help="a line for the customer, kept in the e-mail "
                                                                      "and the case's history")]


def _ask_customer(case_id: int, request: str, note: str, config: Path | None, actor: str | None,
                  as_json: bool) -> None:
    """A request to the case's customer (``services.customer_requests``): recorded now, e-mailed by the next run
    or `closeout notify send`; their reply is matched to the job by the mail step."""
    case, _ = _on_desk(case_id, config, actor, lambda desk, person: desk.decide(
        case_id, request, actor=person, fields={"note": note}))
    if as_json:
        print(json.dumps(case.model_dump(mode="json"), indent=2))
        return
    asked = next(entry for entry in reversed(case.history) if entry.action == "customer_asked")
    console.print(f"case #{case.id}: {case.status} — {asked.note}; the next run (or closeout notify send) sends it, "
                  "and the reply is placed on the job", markup=False, highlight=False, soft_wrap=True)


@cases_app.command("request_sign_off")
def cases_request_sign_off(case_id: CaseArgument, note: CustomerNoteOption = "", config: ConfigOption = None,
                           actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """E-mail the blocked job's customer for their signature; their reply unblocks the job by itself."""
    _ask_customer(case_id, "request_sign_off", note, config, actor, as_json)


@cases_app.command("request_photos")
def cases_request_photos(case_id: CaseArgument, note: CustomerNoteOption = "", config: ConfigOption = None,
                         actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """E-mail the blocked job's customer for before and after photos; their reply unblocks the job by itself."""
    _ask_customer(case_id, "request_photos", note, config, actor, as_json)


@cases_app.command("replay")
def cases_replay(case_id: CaseArgument, config: ConfigOption = None, actor: ActorOption = None,
                 as_json: JsonOption = False) -> None:
    """Run the downstream steps (rules, draft, push) for this case's work order only, and show the outcome."""
    case, before = _on_desk(case_id, config, actor, lambda desk, person: desk.replay(case_id, actor=person))
    replay = replay_after(case, before)
    if as_json:  # the replay's own outcome, as scripts read it
        print(json.dumps({"case": case_id, "outcome": replay.after.get("outcome") if replay else None,
                          "message": replay.note if replay else "", "resolved": not case.is_open,
                          "ledger_id": replay.after.get("ledger_id") if replay else None}, indent=2))
        if case.is_open:
            raise typer.Exit(NOT_CLEARED_EXIT_CODE)
        return
    _say_replayed(case, before, as_json, done="replayed")


@cases_app.command("add_mapping")
def cases_add_mapping(case_id: CaseArgument,
                      table: Annotated[str, typer.Argument(help="items, default_items, tax_codes, customers...")],
                      key: Annotated[str, typer.Argument(help="the source's code, e.g. EQUIP-VRF-9")],
                      value: Annotated[str, typer.Argument(help="the ledger's code (its id), e.g. 2")],
                      config: ConfigOption = None, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Store a mapping entry for the case's company (checked against the ledger's own codes), then replay the job
    and the other open cases that needed the same entry."""
    case, before = _on_desk(case_id, config, actor, lambda desk, person: desk.add_mapping(
        case_id, actor=person, table=table, key=key, value=value))
    _say_replayed(case, before, as_json, done=f"mapping {table}[{key}] = {value} stored")


# "-3" must reach the price check (and be refused in words), not read as an unknown option.
@cases_app.command("fix_price", context_settings={"ignore_unknown_options": True})
def cases_fix_price(case_id: CaseArgument, line: Annotated[str, typer.Argument(help="the line's source id")],
                    price: Annotated[str, typer.Argument(help="new unit price, e.g. 120.00")],
                    note: NoteOption = "", config: ConfigOption = None, actor: ActorOption = None,
                    as_json: JsonOption = False) -> None:
    """Set a new unit price for one line of the case's job (--note with the reason is required), then replay it.

    The price holds while the source still shows the price it replaced; a change at the source wins.
    """
    case, before = _on_desk(case_id, config, actor, lambda desk, person: desk.fix_price(
        case_id, actor=person, line=line, price=price, reason=note))
    _say_replayed(case, before, as_json, done="price fixed")


@cases_app.command("link_email")
def cases_link_email(case_id: CaseArgument,
                     work_order: Annotated[str, typer.Argument(help="work order id or job number")],
                     config: ConfigOption = None, actor: ActorOption = None, as_json: JsonOption = False) -> None:
    """Link an unmatched email's case to a work order: its evidence goes on the job and the case is resolved."""
    case, _ = _on_desk(case_id, config, actor, lambda desk, person: desk.link_email(
        case_id, actor=person, work_order=work_order))
    linked = next(entry for entry in reversed(case.history) if entry.action == "email_linked")
    if as_json:
        print(json.dumps(case.model_dump(mode="json"), indent=2))
    else:
        console.print(f"case #{case.id}: {case.status} — {linked.note}", markup=False, highlight=False,
                      soft_wrap=True)


# The names these commands had before they took the decisions' own, and the dashed spellings of the others:
# scripts written against either keep working, and `--help` lists each decision once.
for _alias, _command in (("link", cases_link_email), ("link-email", cases_link_email),
                         ("fix-price", cases_fix_price), ("add-mapping", cases_add_mapping),
                         ("approve-override", cases_approve_override), ("undo-ignore", cases_undo_ignore),
                         ("request-sign-off", cases_request_sign_off), ("request-photos", cases_request_photos)):
    cases_app.command(_alias, hidden=True, context_settings={"ignore_unknown_options": _command is cases_fix_price})(
        _command)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return os.environ.get(PASSWORD_VARIABLE) or typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[Role, typer.Option(help="viewer, coordinator, finance or admin")] = Role.coordinator,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    email: Annotated[str | None, typer.Option(help="where notifications to this user go (case assigned, daily "
                                                   "digest); unset: kept as it was")] = None,
    company: Annotated[list[str] | None, typer.Option(help="a company id whose cases the user sees and decides; "
                                                           "repeat for several; unset: kept as it was (a new user: "
                                                           "every company)")] = None,
    all_companies: Annotated[bool, typer.Option("--all-companies", help="let the user see every company's cases "
                                                                        "again")] = False,
    config: ConfigOption = None,
) -> None:
    """Add a user (or reset one's role and password). The password is asked for, read from stdin, or $CLOSEOUT_PASSWORD."""
    from closeout.cli.runs import check_company
    from services.users import add_user

    if company and all_companies:
        console.print("[red]error:[/] --company and --all-companies say opposite things: give one", highlight=False)
        raise typer.Exit(2)
    companies = () if all_companies else company or None
    settings = Settings()
    with _decisions(), open_store(settings) as store:
        with store.unit_of_work() as uow:
            for name in companies or ():
                check_company(uow, settings, config, name.strip())
        password = _read_password(password_stdin)
        user = add_user(store, username, role, password, actor=shell_login(), email=email, companies=companies)
    scope = f", on the cases of {', '.join(user.companies)}" if user.companies else ""
    console.print(f"{user.username} can sign in as {user.role}{scope}"
                  + (f", told at {user.email}." if user.email else "."), markup=False, highlight=False)


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
        scope = ",".join(person.companies) or "all companies"
        console.print(f"{person.username:24} {person.role:12} {scope:24} {person.email or ''}".rstrip(),
                      markup=False, highlight=False)


@users_app.command("token")
def users_token(username: str, label: Annotated[str, typer.Option(help="what the token is for")] = "script") -> None:
    """Issue a bearer token for the JSON API; it is printed once and only its digest is kept."""
    from services.users import create_token

    with _decisions(), open_store(Settings()) as store:
        print(create_token(store, username, label=label, actor=shell_login()))


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
