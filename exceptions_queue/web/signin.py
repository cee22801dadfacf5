"""Signing in and out: the /login and /logout routes, sign-ins kept on the server, and sign-in throttling."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exceptions_queue.web.deps import CsrfForm, Desk, csrf_form, render_page
from exceptions_queue.web.security import first, sign_in, sign_out

Clock = Callable[[], float]


class SessionRegistry:
    """Live sign-ins by random id. The signed cookie carries only the id; an id not in here is signed out.

    Kept in the UI's process: a restart signs everyone out, which is the safe direction.
    """

    def __init__(self, *, max_age_seconds: float, clock: Clock = time.monotonic) -> None:
        self._max_age = max_age_seconds
        self._clock = clock
        self._live: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def start(self, username: str) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._live = {k: v for k, v in self._live.items() if v[1] > now}
            self._live[session_id] = (username, now + self._max_age)
        return session_id

    def username(self, session_id: str) -> str | None:
        with self._lock:
            found = self._live.get(session_id)
            if found is None or found[1] <= self._clock():
                self._live.pop(session_id, None)
                return None
            return found[0]

    def end(self, session_id: str) -> None:
        with self._lock:
            self._live.pop(session_id, None)


class SignInThrottle:
    """Failed sign-ins counted per username (whoever tries it) and per client address, in a sliding window.

    At ``per_user`` failures for one username, or ``per_ip`` from one address, further attempts are refused
    without checking the password until the oldest failure leaves the window. The same rule applies to
    usernames that do not exist, so the answer reveals nothing about which accounts exist.
    """

    def __init__(self, *, per_user: int = 5, per_ip: int = 20, window_seconds: float = 15 * 60,
                 clock: Clock = time.monotonic, max_keys: int = 10_000) -> None:
        self.per_user, self.per_ip, self.window = per_user, per_ip, window_seconds
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, username: str, address: str) -> int:
        """0 when an attempt may go ahead, else how long (whole seconds) until one may."""
        now = self._clock()
        waits = [self._wait(f"user:{_key(username)}", self.per_user, now),
                 self._wait(f"ip:{address}", self.per_ip, now)]
        return max(waits)

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                self._forget_old(now)
            for key in (f"user:{_key(username)}", f"ip:{address}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        """A right password clears that username's failures (not the address's: one good account must not
        let an address go on guessing others)."""
        with self._lock:
            self._failures.pop(f"user:{_key(username)}", None)

    def _wait(self, key: str, limit: int, now: float) -> int:
        with self._lock:
            failures = self._failures.get(key)
            if not failures:
                return 0
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) < limit:
                return 0
            return max(1, int(failures[-limit] + self.window - now + 0.999))

    def _forget_old(self, now: float) -> None:
        self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > now - self.window}


def _key(username: str) -> str:
    return username.strip().lower()[:128]


def sign_in_throttle(request: Request) -> SignInThrottle:
    """The app's throttle of failed sign-ins (``app.state.throttle``)."""
    return request.app.state.throttle


router = APIRouter()


@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in form; ``next`` (a path on this site only) is where a right password goes."""
    return render_page(request, "login.html", user=None, next=_safe_next(next), error=None)


@router.post("/login")
async def login(request: Request, desk: Desk, form: CsrfForm,
                throttle: Annotated[SignInThrottle, Depends(sign_in_throttle)]) -> Response:
    """A throttled username/password check: 429 with Retry-After while throttled, 401 when wrong, else a fresh
    session and a redirect to ``next``."""
    username, address = first(form, "username"), request.client.host if request.client else "unknown"
    wait = throttle.wait_seconds(username, address)
    if wait:
        refused = render_page(request, "login.html", 429, user=None, next=_safe_next(first(form, "next")),
                              error=f"Too many failed sign-ins. Wait {-(-wait // 60)} minute(s) and try again.")
        refused.headers["Retry-After"] = str(wait)
        return refused
    user = desk.authenticate(username, first(form, "password"))
    if user is None:
        throttle.failed(username, address)
        return render_page(request, "login.html", 401, user=None, next=_safe_next(first(form, "next")),
                           error="That username and password do not match.")
    throttle.succeeded(username)
    sign_in(request, user)
    return RedirectResponse(_safe_next(first(form, "next")), status_code=303)


@router.post("/logout", dependencies=[Depends(csrf_form)])
async def logout(request: Request) -> Response:
    """End the session on the server and in the cookie (a CSRF-checked form, so no page can sign you out)."""
    sign_out(request)
    return RedirectResponse("/login", status_code=303)


def _safe_next(target: str) -> str:
    """Only a path on this site: ``//evil.example`` and full URLs go to the list instead."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"
