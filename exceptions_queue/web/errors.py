"""How refusals and failures answer: a sign-in redirect or 401, 403 and 404 pages (JSON under /api/), a plain 500."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from exceptions_queue.web.bodies import RequestBodyError
from exceptions_queue.web.deps import render_page
from exceptions_queue.web.security import SECURITY_HEADERS, CsrfError, NotSignedInError


async def crashed(request: Request, exc: Exception) -> Response:
    """A bug: a plain page, no details, and the same security headers as every other answer."""
    return PlainTextResponse("Something went wrong on our side; it has been logged.", status_code=500,
                             headers=SECURITY_HEADERS)


async def refused_body(request: Request, exc: RequestBodyError) -> Response:
    """A body over its limit (413) or not what was asked (400): the reason in one line (JSON under /api/)."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    return PlainTextResponse(f"{exc}.", status_code=exc.status, headers=SECURITY_HEADERS)


async def not_signed_in(request: Request, exc: NotSignedInError) -> Response:
    """Scripts get 401 with a Bearer challenge, form posts a bare 401, people a redirect to the sign-in page."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "not signed in"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    if request.method != "GET":
        return JSONResponse({"error": "not signed in"}, status_code=401)
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


async def bad_csrf(request: Request, exc: CsrfError) -> Response:
    """A form without this session's CSRF token: a 403 page telling the person to reload."""
    return render_page(request, "error.html", 403, user=None,
                       message="This form has expired or did not come from this site. Go back, reload and try again.")


async def forbidden(request: Request, exc: PermissionError) -> Response:
    """A role that may not do this: 403, with the refusal's words (JSON under /api/)."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, status_code=403)
    return render_page(request, "error.html", 403, user=None, message=str(exc))


async def not_found(request: Request, exc: LookupError) -> Response:
    """Something named that does not exist: 404, saying what (JSON under /api/)."""
    message = str(exc).strip("'\"") or "not found"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=404)
    return render_page(request, "error.html", 404, user=None, message=f"Not found: {message}.")


def add_error_handlers(app: FastAPI) -> None:
    """Install the handlers above on ``app``: a route refuses by raising one of those errors, and answers alike."""
    app.add_exception_handler(Exception, crashed)
    app.add_exception_handler(RequestBodyError, refused_body)
    app.add_exception_handler(NotSignedInError, not_signed_in)
    app.add_exception_handler(CsrfError, bad_csrf)
    app.add_exception_handler(PermissionError, forbidden)
    app.add_exception_handler(LookupError, not_found)


__all__ = ["add_error_handlers"]
