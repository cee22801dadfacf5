"""The queue's web app: pages for people (signed-in session, CSRF on every form) and the JSON API for scripts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from exceptions_queue.cases import CaseKind, CaseStatus, Severity
from exceptions_queue.desk import AGES, DecisionError, QueueDesk
from exceptions_queue.users import Role
from exceptions_queue.web import api, views
from exceptions_queue.web.deps import filters_from
from exceptions_queue.web.security import (
    SECURITY_HEADERS, CsrfError, NotSignedInError, csrf_token, first, read_form, session_user, sign_in, sign_out,
)
from exceptions_queue.web.signin import SessionRegistry, SignInThrottle

HERE = Path(__file__).parent
SESSION_HOURS = 12


def create_app(desk: QueueDesk, *, secret_key: str, secure_cookies: bool = False, title: str = "Closeout",
               throttle: SignInThrottle | None = None) -> FastAPI:
    """The UI over ``desk``. Cookies are signed with ``secret_key``; ``secure_cookies`` when served over HTTPS.
    Sign-ins live on the server (``app.state.sessions``); failed ones are throttled by ``throttle``."""
    app = FastAPI(title=f"{title} queue", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sessions = SessionRegistry(max_age_seconds=SESSION_HOURS * 3600)
    app.state.throttle = throttle = throttle or SignInThrottle()
    app.add_middleware(SessionMiddleware, secret_key=secret_key, session_cookie="closeout_session",
                       max_age=SESSION_HOURS * 3600, same_site="lax", https_only=secure_cookies)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    views.install_filters(templates.env)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router(desk))

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.update(csrf=csrf_token(request), flashes=request.session.pop("flash", []), title=title)
        return templates.TemplateResponse(request, name, context, status_code=status)

    def flash(request: Request, kind: str, text: str) -> None:
        request.session["flash"] = [*request.session.get("flash", []), [kind, text]]

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if secure_cookies:  # served over HTTPS: browsers keep to it
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        """A bug: a plain page, no details, and the same security headers as every other answer."""
        return PlainTextResponse("Something went wrong on our side; it has been logged.", status_code=500,
                                 headers=SECURITY_HEADERS)

    @app.exception_handler(NotSignedInError)
    async def not_signed_in(request: Request, exc: NotSignedInError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "not signed in"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        if request.method != "GET":
            return JSONResponse({"error": "not signed in"}, status_code=401)
        return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)

    @app.exception_handler(CsrfError)
    async def bad_csrf(request: Request, exc: CsrfError) -> Response:
        return page(request, "error.html", 403, user=None,
                    message="This form has expired or did not come from this site. Go back, reload and try again.")

    @app.exception_handler(PermissionError)
    async def forbidden(request: Request, exc: PermissionError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=403)
        return page(request, "error.html", 403, user=None, message=str(exc))

    @app.exception_handler(LookupError)
    async def not_found(request: Request, exc: LookupError) -> Response:
        message = str(exc).strip("'\"") or "not found"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=404)
        return page(request, "error.html", 404, user=None, message=f"Not found: {message}.")

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/login")
    def login_page(request: Request, next: str = "/") -> HTMLResponse:
        return page(request, "login.html", user=None, next=_safe_next(next), error=None)

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await read_form(request)
        username, address = first(form, "username"), request.client.host if request.client else "unknown"
        wait = throttle.wait_seconds(username, address)
        if wait:
            refused = page(request, "login.html", 429, user=None, next=_safe_next(first(form, "next")),
                           error=f"Too many failed sign-ins. Wait {-(-wait // 60)} minute(s) and try again.")
            refused.headers["Retry-After"] = str(wait)
            return refused
        user = desk.authenticate(username, first(form, "password"))
        if user is None:
            throttle.failed(username, address)
            return page(request, "login.html", 401, user=None, next=_safe_next(first(form, "next")),
                        error="That username and password do not match.")
        throttle.succeeded(username)
        sign_in(request, user)
        return RedirectResponse(_safe_next(first(form, "next")), status_code=303)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await read_form(request)
        sign_out(request)
        return RedirectResponse("/login", status_code=303)

    @app.get("/")
    def case_list(request: Request) -> HTMLResponse:
        user = session_user(request, desk)
        filters = filters_from(request.query_params.multi_items())
        cases = desk.list_cases(filters)
        return page(request, "list.html", user=user, cases=cases, filters=filters, counts=desk.count_open(),
                    kinds=list(CaseKind), statuses=list(CaseStatus), ages=list(AGES), users=desk.users(),
                    query=str(request.url.query))

    @app.post("/cases/bulk")
    async def bulk(request: Request) -> Response:
        user = session_user(request, desk)
        form = await read_form(request)
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

    @app.get("/cases/{case_id}")
    def case_page(request: Request, case_id: int) -> HTMLResponse:
        user = session_user(request, desk)
        try:
            context = desk.context(case_id)
        except LookupError:
            return page(request, "error.html", 404, user=user, message=f"There is no case #{case_id}.")
        return page(request, "case.html", user=user, ctx=context, case=context.case, users=desk.users(),
                    help=views.KIND_HELP.get(context.case.kind, ""))

    def decided(request: Request, case_id: int, decide: Callable[[], str]) -> Response:
        """Run one decision on a case page's form; flash its outcome (or the refusal) and go back to the case."""
        try:
            flash(request, "ok", decide())
        except DecisionError as exc:
            flash(request, "error", str(exc))
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @app.post("/cases/{case_id}/decide")
    async def decide(request: Request, case_id: int) -> Response:
        user = session_user(request, desk)
        form = await read_form(request)
        decision = first(form, "decision")

        def run() -> str:
            desk.decide(case_id, decision, actor=user,
                        fields={name: first(form, name) for name in ("note", "assignee", "tag")})
            return views.DONE.get(decision, "Saved.")

        return decided(request, case_id, run)

    @app.post("/cases/{case_id}/mapping")
    async def add_mapping(request: Request, case_id: int) -> Response:
        user = session_user(request, desk)
        form = await read_form(request)
        return decided(request, case_id, lambda: _replay_words(desk.add_mapping(
            case_id, actor=user, table=first(form, "table"), key=first(form, "key"), value=first(form, "value"))))

    @app.post("/cases/{case_id}/price")
    async def fix_price(request: Request, case_id: int) -> Response:
        user = session_user(request, desk)
        form = await read_form(request)
        return decided(request, case_id, lambda: _replay_words(desk.fix_price(
            case_id, actor=user, line=first(form, "line"), price=first(form, "price"), reason=first(form, "reason"))))

    @app.post("/cases/{case_id}/link")
    async def link_email(request: Request, case_id: int) -> Response:
        user = session_user(request, desk)
        form = await read_form(request)
        chosen = first(form, "job_number") or first(form, "work_order")

        def run() -> str:
            case = desk.link_email(case_id, actor=user, work_order=chosen)
            linked = [entry.note for entry in case.history if entry.action == "email_linked"]
            return f"Linked: {linked[-1]}." if linked else "Linked."

        return decided(request, case_id, run)

    @app.post("/cases/{case_id}/replay")
    async def replay(request: Request, case_id: int) -> Response:
        user = session_user(request, desk)
        await read_form(request)
        return decided(request, case_id, lambda: _replay_words(desk.replay(case_id, actor=user)))

    @app.get("/audit")
    def audit(request: Request) -> HTMLResponse:
        user = session_user(request, desk)
        return page(request, "audit.html", user=user, entries=desk.audit_trail(limit=300))

    @app.get("/users")
    def users_page(request: Request) -> HTMLResponse:
        user = session_user(request, desk)
        if not user.can_manage_users:
            raise PermissionError("only an admin manages users")
        return page(request, "users.html", user=user, people=desk.users(), roles=list(Role))

    @app.post("/users")
    async def add_user(request: Request) -> Response:
        user = session_user(request, desk)
        form = await read_form(request)
        try:
            added = desk.add_user(first(form, "username"), Role(first(form, "role") or "viewer"),
                                  first(form, "password"), actor=user)
            flash(request, "ok", f"{added.username} can now sign in as {added.role}.")
        except ValueError as exc:  # UserError, or an unknown role
            flash(request, "error", str(exc))
        return RedirectResponse("/users", status_code=303)

    return app


def _safe_next(target: str) -> str:
    """Only a path on this site: ``//evil.example`` and full URLs go to the list instead."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _replay_words(case) -> str:
    for entry in reversed(case.history):
        if entry.action == "replayed":
            return f"Replayed: {entry.note}"
    return "Saved."


__all__ = ["create_app", "filters_from", "Severity"]
