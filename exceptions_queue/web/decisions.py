"""The forms that change cases: one case's decisions (decide, mapping, price, link, replay) and the list's bulk form."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from exceptions_queue.cases import Case
from exceptions_queue.desk import DecisionError
from exceptions_queue.web import views
from exceptions_queue.web.deps import CsrfForm, Desk, SignedInUser, flash, render_page
from exceptions_queue.web.security import first

router = APIRouter()


@router.post("/cases/bulk")
async def bulk(request: Request, desk: Desk, user: SignedInUser, form: CsrfForm) -> Response:
    """One decision on the ticked cases (or on every case shown); the tally and the first refusals are flashed, and
    the list comes back with the same filters."""
    if not user.can_decide:
        raise PermissionError(f"{user.username} is a {user.role}: viewers cannot decide")
    chosen = form.get("shown_id", []) if first(form, "all_shown") else form.get("case_id", [])
    ids = [int(i) for i in chosen if i.isdigit()]
    decision = first(form, "decision")
    fields = {name: first(form, name) for name in ("note", "assignee", "tag")}
    done, failed = 0, []
    for case_id in ids:
        try:
            desk.decide(case_id, decision, actor=user, fields=fields)
            done += 1
        except (DecisionError, LookupError) as exc:
            failed.append(f"#{case_id}: {exc}")
    flash(request, "ok" if done else "warn", f"{decision.replace('_', ' ')}: {done} of {len(ids)} cases")
    for line in failed[:5]:
        flash(request, "error", line)
    back = urlencode(parse_qsl(first(form, "back")))  # only a query string of this list goes back
    return RedirectResponse("/?" + back if back else "/", status_code=303)


@router.post("/cases/{case_id}/decide")
async def decide(request: Request, case_id: int, desk: Desk, user: SignedInUser, form: CsrfForm) -> Response:
    """One of the desk's plain decisions (resolve, ignore, assign, tag, comment...) with its note/assignee/tag, and
    for a case about a blocked job the resolve's ``outcome`` (``exceptions_queue.desk.OUTCOME_NAMES``)."""
    decision = first(form, "decision")

    def run() -> str:
        fields = {name: first(form, name) for name in ("note", "assignee", "tag", "outcome")}
        desk.decide(case_id, decision, actor=user, fields=fields)
        return views.DONE.get(fields["outcome"] if decision == "resolve" and fields["outcome"] else decision,
                              "Saved.")

    return _decided(request, case_id, run)


@router.post("/cases/{case_id}/mapping")
async def add_mapping(request: Request, case_id: int, desk: Desk, user: SignedInUser, form: CsrfForm) -> Response:
    """Store the missing mapping entry for the case's company, and replay the job. A refused entry (a code the
    ledger does not have, a malformed one) shows the case again with the reason at its form: 422, nothing stored."""
    entry = {name: first(form, name) for name in ("table", "key", "value")}
    try:
        case = desk.add_mapping(case_id, actor=user, table=entry["table"], key=entry["key"], value=entry["value"])
    except DecisionError as exc:
        flash(request, "error", str(exc))
        context = desk.context(case_id, actor=user)
        return render_page(request, "case.html", 422, user=user, ctx=context, case=context.case, users=desk.users(),
                           help=views.KIND_HELP.get(context.case.kind, ""), refused={**entry, "error": str(exc)})
    flash(request, *_replay_words(case))
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/price")
async def fix_price(request: Request, case_id: int, desk: Desk, user: SignedInUser, form: CsrfForm) -> Response:
    """Correct one line's price, with a reason, and replay the job."""
    return _decided(request, case_id, lambda: _replay_words(desk.fix_price(
        case_id, actor=user, line=first(form, "line"), price=first(form, "price"), reason=first(form, "reason"))))


@router.post("/cases/{case_id}/link")
async def link_email(request: Request, case_id: int, desk: Desk, user: SignedInUser, form: CsrfForm) -> Response:
    """Link an unmatched email to the work order chosen by job number (or id)."""
    chosen = first(form, "job_number") or first(form, "work_order")

    def run() -> str:
        case = desk.link_email(case_id, actor=user, work_order=chosen)
        linked = [entry.note for entry in case.history if entry.action == "email_linked"]
        return f"Linked: {linked[-1]}." if linked else "Linked."

    return _decided(request, case_id, run)


@router.post("/cases/{case_id}/correct")
async def correct(request: Request, case_id: int, desk: Desk, user: SignedInUser, form: CsrfForm) -> Response:
    """Decide a changed-after-invoiced case: ``choice`` apply_correction, apply_as_credit or keep_invoice (with
    ``reason``). A step the ledger refused, or whose answer was lost, is flashed as a warning, never as done."""
    try:
        report = desk.correct(case_id, actor=user, choice=first(form, "choice"), reason=first(form, "reason"))
    except DecisionError as exc:
        flash(request, "error", str(exc))
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    level = "ok" if report.outcome in ("applied", "kept", "nothing_to_do") else "error"
    flash(request, level, " ".join(report.lines()))
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/replay")
async def replay(request: Request, case_id: int, desk: Desk, user: SignedInUser, form: CsrfForm) -> Response:
    """Run the case's job through again (the form carries nothing but its CSRF token)."""
    return _decided(request, case_id, lambda: _replay_words(desk.replay(case_id, actor=user)))


def _decided(request: Request, case_id: int, decide: Callable[[], str | tuple[str, str]]) -> Response:
    """Run one decision on a case page's form; flash its outcome (``(level, text)``, or a text that is "ok"), or
    the refusal, and go back to the case."""
    try:
        outcome = decide()
        flash(request, *(outcome if isinstance(outcome, tuple) else ("ok", outcome)))
    except DecisionError as exc:
        flash(request, "error", str(exc))
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def _replay_words(case: Case) -> tuple[str, str]:
    """The flash for a decision that replays: the latest replay's note, as an error when the case is still open
    after it (the ledger or a rule refused again: a refusal never looks like a success), or "Saved." when none
    ran."""
    for entry in reversed(case.history):
        if entry.action == "replayed":
            if case.is_open:
                return "error", f"Not cleared, still open: {entry.note}"
            return "ok", f"Replayed: {entry.note}"
    return "ok", "Saved."


__all__ = ["router"]
