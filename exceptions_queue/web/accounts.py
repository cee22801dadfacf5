"""The admin's page of people: who may sign in, with which role and on which companies' cases, and the form that adds
someone (``closeout users add``: ticked companies are ``--company``, "All companies" is ``--all-companies``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exceptions_queue.users import Role, UserError
from exceptions_queue.web.deps import CsrfForm, Desk, SignedInUser, flash, render_page
from exceptions_queue.web.security import first

router = APIRouter()


@router.get("/users")
def users_page(request: Request, desk: Desk, user: SignedInUser) -> HTMLResponse:
    """Everyone who may sign in; admins only (403 for the other roles)."""
    if not user.can_manage_users:
        raise PermissionError("only an admin manages users")
    return render_page(request, "users.html", user=user, people=desk.users(), roles=list(Role),
                       companies=desk.companies())


@router.post("/users")
async def add_user(request: Request, desk: Desk, user: SignedInUser, form: CsrfForm) -> Response:
    """Add a user (the desk refuses non-admins); the outcome, or the refusal, is flashed on the users page.

    Companies as the CLI's: the ticked ones limit the person to their cases, "All companies" lifts a limit, and
    neither keeps what the person had (a new user sees every company)."""
    chosen, every = form.get("company") or [], first(form, "all_companies") == "yes"
    try:
        if chosen and every:
            raise UserError("tick some companies or All companies, not both")
        added = desk.add_user(first(form, "username"), Role(first(form, "role") or "viewer"),
                              first(form, "password"), actor=user, companies=() if every else chosen or None)
        scope = f", on the cases of {', '.join(added.companies)}" if added.companies else ", on every company"
        flash(request, "ok", f"{added.username} can now sign in as {added.role}{scope}.")
    except ValueError as exc:  # UserError, or an unknown role
        flash(request, "error", str(exc))
    return RedirectResponse("/users", status_code=303)


__all__ = ["router"]
