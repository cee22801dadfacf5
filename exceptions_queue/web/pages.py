"""The pages people read: the queue list with its filters, one case in full, one work order, the audit trail."""

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
    cases = desk.list_cases(filters, actor=user)
    return render_page(request, "list.html", user=user, cases=cases, filters=filters,
                       counts=desk.count_open(actor=user),
                       kinds=list(CaseKind), statuses=list(CaseStatus), ages=list(AGES), users=desk.users(),
                       query=str(request.url.query))


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, desk: Desk, user: SignedInUser) -> HTMLResponse:
    """One case in its context, with the help text of its kind and the decision forms; 404 page when unknown."""
    try:
        context = desk.context(case_id, actor=user)
    except LookupError:
        return render_page(request, "error.html", 404, user=user, message=f"There is no case #{case_id}.")
    assignees = [person for person in desk.users() if person.sees(context.case.company)]
    return render_page(request, "case.html", user=user, ctx=context, case=context.case, users=assignees,
                       help=views.KIND_HELP.get(context.case.kind, ""))


@router.get("/work-orders/{work_order_id:path}")
def work_order_page(request: Request, work_order_id: str, desk: Desk, user: SignedInUser) -> HTMLResponse:
    """One work order, read-only (any signed-in person): where it ended, its cases, rules, lines and invoices; the
    page a look-alike job or an e-mail's job links to. 404 page when no single work order has this id or number."""
    try:
        story = desk.work_order(work_order_id[:200], actor=user)
    except LookupError:
        return render_page(request, "error.html", 404, user=user, message="There is no such work order.")
    return render_page(request, "work_order.html", user=user, story=story, wo=story.work_order)


@router.get("/audit")
def audit(request: Request, desk: Desk, user: SignedInUser) -> HTMLResponse:
    """The most recent 300 entries of the audit trail: who decided what, and when."""
    return render_page(request, "audit.html", user=user, entries=desk.audit_trail(limit=300, actor=user))


__all__ = ["router"]
