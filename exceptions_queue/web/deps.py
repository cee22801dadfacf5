"""FastAPI dependencies and helpers the routers share, all read from ``request.app.state`` (set by ``create_app``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import TypeAdapter, ValidationError

from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import CaseFilters, QueueDesk
from exceptions_queue.users import User
from exceptions_queue.web.security import bearer_user, csrf_token, read_form, session_user

FormFields = dict[str, list[str]]
_PATH_ID = TypeAdapter(int)


async def queue_desk(request: Request) -> QueueDesk:
    """The desk the app was built over (``app.state.desk``): every route reads and decides through it."""
    return request.app.state.desk


def page_templates(request: Request) -> Jinja2Templates:
    """The app's Jinja templates (``app.state.templates``), with the filters of ``views`` installed."""
    return request.app.state.templates


def signed_in_user(request: Request) -> User:
    """The user of the request's live session; ``NotSignedInError`` (sign-in page, or 401) when there is none."""
    if _path_id_is_malformed(request):
        return None  # type: ignore[return-value]  # FastAPI answers 422 before the route runs
    return session_user(request, request.app.state.desk)


def script_user(request: Request) -> User:
    """The user whose ``Authorization: Bearer`` token the request carries; ``NotSignedInError`` (401) otherwise."""
    if _path_id_is_malformed(request):
        return None  # type: ignore[return-value]  # FastAPI answers 422 before the route runs
    return bearer_user(request, request.app.state.desk)


async def csrf_form(request: Request) -> FormFields:
    """The url-encoded form, once its CSRF token matched the session's; ``CsrfError`` (403 page) otherwise."""
    if _path_id_is_malformed(request):
        return {}  # FastAPI answers 422 before the route runs
    return await read_form(request)


Desk = Annotated[QueueDesk, Depends(queue_desk)]
SignedInUser = Annotated[User, Depends(signed_in_user)]
ScriptUser = Annotated[User, Depends(script_user)]
CsrfForm = Annotated[FormFields, Depends(csrf_form)]


def render_page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Template ``name`` with the session's CSRF token, its pending flashes (now shown, so dropped) and the title.

    A plain function, not a dependency, because the exception handlers render pages too."""
    context.update(csrf=csrf_token(request), flashes=request.session.pop("flash", []), title=request.app.state.title)
    return page_templates(request).TemplateResponse(request, name, context, status_code=status)


def flash(request: Request, kind: str, text: str) -> None:
    """A message (``kind`` is ok, warn or error) for the next page this session sees, after a redirect."""
    request.session["flash"] = [*request.session.get("flash", []), [kind, text]]


def filters_from(items: list[tuple[str, str]]) -> CaseFilters:
    """Query parameters → filters; unknown values are dropped rather than failing the page."""
    values: dict[str, list[str]] = {}
    for name, value in items:
        if value:
            values.setdefault(name, []).append(value)
    statuses = tuple(CaseStatus(s) for s in values.get("status", []) if s in CaseStatus.__members__)
    kinds = tuple(CaseKind(k) for k in values.get("kind", []) if k in CaseKind.__members__)
    if values.get("status") == ["all"]:
        statuses = tuple(CaseStatus)
    return CaseFilters(
        statuses=statuses or (CaseStatus.open, CaseStatus.in_progress), kinds=kinds,
        company=(values.get("company") or [None])[0], assignee=(values.get("assignee") or [None])[0],
        tag=(values.get("tag") or [None])[0], older_than=(values.get("age") or [None])[0],
    )


def _path_id_is_malformed(request: Request) -> bool:
    """Whether FastAPI will refuse the path's ``{case_id}`` with a 422. It validates path parameters only after the
    dependencies ran, so the dependencies that refuse (sign-in, token, CSRF) stand aside for such a request: a
    malformed id answers 422 whoever asks, before who is asking is looked at."""
    raw = request.path_params.get("case_id")
    if raw is None:
        return False
    try:
        _PATH_ID.validate_python(raw)
    except ValidationError:
        return True
    return False


__all__ = ["CsrfForm", "Desk", "FormFields", "ScriptUser", "SignedInUser", "csrf_form", "filters_from",
           "flash", "page_templates", "queue_desk", "render_page", "script_user", "signed_in_user"]
