"""The admin's Connections page: every company's ledger, sources and mailboxes with their state, and the OAuth flow.

Connect / Reconnect posts the page's form (CSRF-checked) and is answered with a redirect to the provider's
authorize address; the provider sends the browser back to ``/connections/callback/{system}`` with a code.
The request in flight (its ``state``, PKCE verifier and redirect URI) stays on the server, one per signed-in
session, for ``PENDING_SECONDS``, and is taken by the first callback whatever it carries: a replayed or
forged redirect finds nothing to finish. Disconnect (``closeout disconnect``) posts the same way and is asked
once more on the page before anything is revoked. Only admins reach these routes (403 for the other roles).
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exceptions_queue.connections import ConnectingError, Connections, Link, LinkState
from exceptions_queue.users import User
from exceptions_queue.web.deps import CsrfForm, SignedInUser, flash, render_page
from exceptions_queue.web.security import SECURITY_HEADERS, first

router = APIRouter()
PENDING_SECONDS = 900  # the consent page may take a while (a sign-in at the provider); a code lives ten minutes
MAX_PENDING = 200  # one per session; beyond this the oldest requests are forgotten
SYSTEM = re.compile(r"^[a-z]{1,40}$")
MAX_ANSWER_FIELDS = 20
MAX_ANSWER_CHARS = 4096
STATE_WORDS = {LinkState.connected: "connected", LinkState.not_connected: "not connected",
               LinkState.refused: "refused", LinkState.not_needed: "not needed"}


@dataclass(frozen=True)
class _Pending:
    company: str
    system: str
    source: str | None
    request: Any  # the port's opaque authorization request: ``url`` and ``state``
    started: float


class PendingConnections:
    """The authorization requests in flight, one per session id; each is taken once (thread-safe)."""

    def __init__(self) -> None:
        self._by_session: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    def put(self, session_id: str, pending: _Pending) -> None:
        with self._lock:
            self._forget_old()
            self._by_session.pop(session_id, None)  # a new click replaces the earlier request of this session
            while len(self._by_session) >= MAX_PENDING:
                self._by_session.pop(next(iter(self._by_session)))
            self._by_session[session_id] = pending

    def take(self, session_id: str) -> _Pending | None:
        with self._lock:
            self._forget_old()
            return self._by_session.pop(session_id, None)

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - PENDING_SECONDS
        for key in [key for key, item in self._by_session.items() if item.started < cutoff]:
            del self._by_session[key]


def _admin(user: User) -> User:
    if not user.can_manage_users:
        raise PermissionError("only an admin manages connections")
    return user


def _port(request: Request) -> Connections | None:
    return getattr(request.app.state, "connections", None)


def _pending(request: Request) -> PendingConnections:
    return request.app.state.connecting


@router.get("/connections")
def connections_page(request: Request, user: SignedInUser) -> HTMLResponse:
    """Every connection of every company with its state and, where the flow applies, Connect or Reconnect."""
    _admin(user)
    return _page(request, user, _port(request))


def _page(request: Request, user: User, port: Connections | None, *, confirm: Link | None = None) -> HTMLResponse:
    """The page; ``confirm``: the connection whose Disconnect it asks the admin to confirm, at its top."""
    links = port.links() if port is not None else []
    companies: dict[str, list[Link]] = {}
    for link in links:
        companies.setdefault(link.company, []).append(link)
    page = render_page(request, "connections.html", user=user, companies=companies, words=STATE_WORDS,
                       available=port is not None, confirm=confirm)
    origins = " ".join(sorted(port.authorize_origins())) if port is not None else ""
    if origins:  # the form's answer redirects to the provider: the browser checks that against form-action
        page.headers["Content-Security-Policy"] = SECURITY_HEADERS["Content-Security-Policy"].replace(
            "form-action 'self'", f"form-action 'self' {origins}")
    return page


@router.post("/connections/connect")
def start_connection(request: Request, user: SignedInUser, form: CsrfForm) -> Response:
    """Start the authorization-code flow for the form's connection: a redirect to the provider's consent page."""
    _admin(user)
    port = _port(request)
    company, system, source = first(form, "company")[:100], first(form, "system")[:40], first(form, "source")[:100]
    if port is None:
        raise LookupError("connections are not available in this UI")
    if not SYSTEM.match(system):
        flash(request, "error", "Choose a connection on this page to connect.")
        return RedirectResponse("/connections", status_code=303)
    redirect_uri = _callback_uri(request, port, system)
    try:
        authorization = port.start(company, system, source=source or None, redirect_uri=redirect_uri)
    except ConnectingError as exc:
        flash(request, "error", f"{company} {system}: {exc}")
        return RedirectResponse("/connections", status_code=303)
    _pending(request).put(request.session["sid"], _Pending(company=company, system=system, source=source or None,
                                                           request=authorization, started=time.monotonic()))
    return RedirectResponse(authorization.url, status_code=303)


@router.post("/connections/disconnect")
def disconnect_connection(request: Request, user: SignedInUser, form: CsrfForm) -> Response:
    """Disconnect the form's connection, as ``closeout disconnect``: the first post (a row's button) only asks,
    the second (``confirm=yes``, the question's button) revokes, removes and audits; the outcome is flashed."""
    _admin(user)
    port = _port(request)
    company, system, source = first(form, "company")[:100], first(form, "system")[:40], first(form, "source")[:100]
    if port is None:
        raise LookupError("connections are not available in this UI")
    link = next((link for link in port.links() if link.company == company and link.system == system
                 and link.name == (source or system)), None) if SYSTEM.match(system) else None
    if link is None or not link.disconnectable:
        flash(request, "error", "Choose a connected connection on this page to disconnect.")
        return RedirectResponse("/connections", status_code=303)
    if first(form, "confirm") != "yes":
        return _page(request, user, port, confirm=link)
    try:
        line = port.disconnect(company, system, source=source or None, actor=user.username)
    except ConnectingError as exc:
        flash(request, "error", f"{company} {system}: {exc}")
    else:
        flash(request, "ok", line)
    return RedirectResponse("/connections", status_code=303)


@router.get("/connections/callback/{system}", name="connections_callback")
def finish_connection(request: Request, system: str, user: SignedInUser) -> Response:
    """The provider's redirect: the session's request in flight must carry this ``state``; then the code is traded,
    the tokens stored and proved, and the page says how it went."""
    _admin(user)
    port = _port(request)
    pending = _pending(request).take(request.session.get("sid") or "")
    answer = {key: value[:MAX_ANSWER_CHARS] for key, value in list(request.query_params.items())[:MAX_ANSWER_FIELDS]}
    sent_state = answer.get("state", "")
    if (port is None or pending is None or pending.system != system
            or not hmac.compare_digest(sent_state.encode(), str(pending.request.state).encode())):
        flash(request, "error", "This answer does not match a connection started from this page in this session "
                                "(a replayed, stale or foreign redirect): nothing was stored. Click Connect again.")
        return RedirectResponse("/connections", status_code=303)
    try:
        line = port.finish(pending.company, pending.system, source=pending.source, request=pending.request,
                           answer=answer, actor=user.username)
    except ConnectingError as exc:
        flash(request, "error", f"{pending.company} {pending.system}: {exc}")
    else:
        flash(request, "ok", line)
    return RedirectResponse("/connections", status_code=303)  # off the address that held the code


def _callback_uri(request: Request, port: Connections, system: str) -> str:
    """The redirect URI the provider must have registered: the public URL's, else the one the browser used."""
    path = request.app.url_path_for("connections_callback", system=system)
    if port.public_url:
        return f"{port.public_url}{path}"
    parts = urlsplit(str(request.base_url))
    return f"{parts.scheme}://{parts.netloc}{path}"


__all__ = ["PendingConnections", "router"]
