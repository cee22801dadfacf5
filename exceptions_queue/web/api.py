"""The JSON API for scripts: bearer tokens only (no cookies, so no CSRF), same decisions as the pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from exceptions_queue.desk import DecisionError
from exceptions_queue.web.bodies import read_json_object
from exceptions_queue.web.deps import Desk, ScriptUser, filters_from

CORRECTIONS = ("apply_correction", "apply_as_credit", "keep_invoice")
"""The decisions of a changed-after-invoiced case (``services.corrections.CorrectionChoice``)."""

router = APIRouter(prefix="/api")


@router.get("/cases")
def list_cases(request: Request, desk: Desk, user: ScriptUser) -> list[dict[str, Any]]:
    """The cases the query string's filters select, as on the list page, without their histories."""
    found = desk.list_cases(filters_from(request.query_params.multi_items()), actor=user)
    return [case.model_dump(mode="json", exclude={"history"}) for case in found]


@router.get("/cases/{case_id}")
def show_case(request: Request, case_id: int, desk: Desk, user: ScriptUser) -> Any:
    """One case in its context; 404 when there is no such case (or it is of a company the user does not see)."""
    try:
        return desk.context(case_id, actor=user).model_dump(mode="json")
    except LookupError:
        return JSONResponse({"error": f"no case #{case_id}"}, status_code=404)


@router.post("/cases/{case_id}/decisions")
async def decide(request: Request, case_id: int, desk: Desk, user: ScriptUser) -> Any:
    """Body: ``{"decision": "assign", "assignee": "dana"}``; also note / tag; ``resolve`` of a case about a blocked
    job with ``outcome`` (``invoice_anyway``, ``bill_nothing`` or ``wait``) and ``note`` (without one it is 422);
    or ``replay``/``add_mapping``;
    or ``apply_correction`` / ``apply_as_credit`` / ``keep_invoice`` (with ``reason``) on a changed-after-invoiced
    case, answered with the correction's steps (409 while a step waits or was refused);
    or ``link_email`` with ``work_order`` (an id or a job number); or ``fix_price`` with ``line``, ``price``
    (a decimal string) and ``reason``; or ``request_sign_off`` / ``request_photos`` (optional ``note``, a line
    for the customer) on a job its sign-off or photos rule blocks: the customer is e-mailed."""
    body = await read_json_object(request)
    fields = {k: str(v) for k, v in body.items() if isinstance(v, str | int)}
    decision = fields.pop("decision", "")
    try:
        if decision in CORRECTIONS:
            report = desk.correct(case_id, actor=user, choice=decision, reason=fields.get("reason", ""))
            return JSONResponse({**report.as_dict(), "case": desk.context(case_id, actor=user).case.model_dump(mode="json")},
                                status_code=200 if report.outcome in ("applied", "kept", "nothing_to_do") else 409)
        if decision == "replay":
            case = desk.replay(case_id, actor=user)
        elif decision == "link_email":
            case = desk.link_email(case_id, actor=user, work_order=fields.get("work_order", ""))
        elif decision == "fix_price":
            case = desk.fix_price(case_id, actor=user, line=fields.get("line", ""), price=fields.get("price", ""),
                                  reason=fields.get("reason", ""))
        elif decision == "add_mapping":
            case = desk.add_mapping(case_id, actor=user, table=fields.get("table", ""),
                                    key=fields.get("key", ""), value=fields.get("value", ""))
        else:
            case = desk.decide(case_id, decision, actor=user, fields=fields)
    except DecisionError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    except LookupError:
        return JSONResponse({"error": f"no case #{case_id}"}, status_code=404)
    return case.model_dump(mode="json")


__all__ = ["router"]
