"""The queue's web app: pages for people (signed-in session, CSRF on every form) and the JSON API for scripts."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from exceptions_queue.connections import Connections
from exceptions_queue.desk import QueueDesk
from exceptions_queue.web import accounts, api, connections as connections_page, decisions, health, pages, signin, views
from exceptions_queue.web.errors import add_error_handlers
from exceptions_queue.web.security import security_headers
from exceptions_queue.web.signin import SessionRegistry, SignInStore, SignInThrottle

HERE = Path(__file__).parent
SESSION_HOURS = 12


def create_app(desk: QueueDesk, *, secret_key: str, secure_cookies: bool = False, title: str = "Closeout",
               throttle: SignInThrottle | None = None, sign_ins: SignInStore | None = None,
               connections: Connections | None = None) -> FastAPI:
    """The UI over ``desk``. Cookies are signed with ``secret_key``; ``secure_cookies`` when served over HTTPS.

    Sign-ins live on the server (``app.state.sessions``) for ``SESSION_HOURS``, and failed ones are throttled by
    ``throttle`` (by default 5 a username and 20 an address in 15 minutes). With ``sign_ins`` (the store) both
    are kept there, so every UI process over that store shares them and a restart keeps them; without it they
    live in this process only. A ``throttle`` given keeps its own counts, wherever ``sign_ins`` keeps the rest.

    What the routers' dependencies (``deps``) read is put on ``app.state``: nothing is captured in closures."""
    app = FastAPI(title=f"{title} queue", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    views.install_filters(templates.env)
    app.state.desk, app.state.templates, app.state.title = desk, templates, title
    app.state.secure_cookies = secure_cookies
    # the admin's Connections page: the product's connections (none: the page says so) and the flows in flight
    app.state.connections, app.state.connecting = connections, connections_page.PendingConnections()
    app.state.sessions = SessionRegistry(max_age_seconds=SESSION_HOURS * 3600,
                                         kept=sign_ins.web_sessions if sign_ins is not None else None)
    app.state.throttle = throttle or SignInThrottle(
        failures=sign_ins.sign_in_failures if sign_ins is not None else None)
    app.add_middleware(SessionMiddleware, secret_key=secret_key, session_cookie="closeout_session",
                       max_age=SESSION_HOURS * 3600, same_site="lax", https_only=secure_cookies)
    app.middleware("http")(security_headers)  # added last, so outermost: its headers go on every answer
    add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    # decisions before pages: POST /cases/bulk is tried before GET /cases/{case_id}, so that other methods on
    # /cases/bulk answer 405 with "Allow: POST".
    for router in (api.router, health.router, signin.router, decisions.router, pages.router, accounts.router,
                   connections_page.router):
        app.include_router(router)
    return app


__all__ = ["create_app"]
