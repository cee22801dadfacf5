"""The pages people read: the queue list with its filters, one case with everything known about it, the audit trail."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import AGES
from exceptions_queue.web import views
from exceptions_queue.web.deps import Desk, SignedInUser, filters_from, render_page

router = APIRouter()


@router.get("/")
def case_list(request: Request, desk: Desk, user: SignedInUser) -> HTMLResponse:
    """The cases the query string's filters select (open and in progress by default), with the open counts."""
    filters = filters_from(request.query_params.multi_items())
    cases = desk.list_cases(filters)
    return render_page(request, "list.html", user=user, cases=cases, filters=filters, counts=desk.count_open(),
                       kinds=list(CaseKind), statuses=list(CaseStatus), ages=list(AGES), users=desk.users(),
                       query=str(request.url.query))


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, desk: Desk, user: SignedInUser) -> HTMLResponse:
    """One case in its context, with the help text of its kind and the decision forms; 404 page when unknown."""
    try:
        context = desk.context(case_id)
    except LookupError:
        return render_page(request, "error.html", 404, user=user, message=f"There is no case #{case_id}.")
    return render_page(request, "case.html", user=user, ctx=context, case=context.case, users=desk.users(),
                       help=views.KIND_HELP.get(context.case.kind, ""))


@router.get("/audit")
def audit(request: Request, desk: Desk, user: SignedInUser) -> HTMLResponse:
    """The most recent 300 entries of the audit trail: who decided what, and when."""
    return render_page(request, "audit.html", user=user, entries=desk.audit_trail(limit=300))


__all__ = ["router"]
