"""Who is asking: signed-session users, bearer-token scripts, CSRF tokens, and the headers every page sends."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response
from starlette.middleware.base import RequestResponseEndpoint

from exceptions_queue.desk import QueueDesk
from exceptions_queue.web.bodies import read_form_fields
from exceptions_queue.users import User

CSRF_FIELD = "csrf_token"
SECURITY_HEADERS = {
    # No script runs on these pages, and nothing from outside (email, payloads, ledger text) can add one.
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class NotSignedInError(Exception):
    """The request carries no valid session or token."""


class CsrfError(Exception):
    """A form arrived without the session's CSRF token."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use; every form carries it in a hidden field."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def read_form(request: Request) -> dict[str, list[str]]:
    """The url-encoded form, after checking its CSRF token against the session's (constant time)."""
    form = await read_form_fields(request)
    sent = (form.get(CSRF_FIELD) or [""])[0]
    expected = request.session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfError()
    return form


def first(form: dict[str, list[str]], name: str) -> str:
    """The first value of field ``name``; "" when the form lacks it, so routes need no missing-field branch."""
    return (form.get(name) or [""])[0]


def session_user(request: Request, desk: QueueDesk) -> User:
    """The signed-in user: the cookie's session id must still be live on the server (not signed out, not
    replaced by a later sign-in, not expired); a session naming a user who no longer exists is signed out."""
    session_id = request.session.get("sid")
    username = request.app.state.sessions.username(session_id) if isinstance(session_id, str) else None
    user = desk.user(username) if username else None
    if user is None:
        raise NotSignedInError()
    return user


def bearer_user(request: Request, desk: QueueDesk) -> User:
    """The user a script's ``Authorization: Bearer`` token belongs to."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = desk.user_for_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if user is None:
        raise NotSignedInError()
    return user


async def security_headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """HTTP middleware: ``SECURITY_HEADERS`` on every answer (a route's own value wins), and HSTS when the app
    sets secure cookies (``app.state.secure_cookies``: served over HTTPS, so browsers keep to it)."""
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.app.state.secure_cookies:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def sign_in(request: Request, user: User) -> None:
    """A fresh session: a new server-side id (the cookie's old one, if any, ends) and a new CSRF token, so
    nothing planted before sign-in (session fixation) is worth anything after it."""
    sign_out(request)
    request.session["sid"] = request.app.state.sessions.start(user.username)
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    """End the cookie's server-side session: a copy of the cookie kept elsewhere is signed out too."""
    session_id = request.session.get("sid")
    if isinstance(session_id, str):
        request.app.state.sessions.end(session_id)
    request.session.clear()
