"""Signing in and out: the /login and /logout routes, where sign-ins are kept, and sign-in throttling."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exceptions_queue.web.deps import CsrfForm, Desk, csrf_form, render_page
from exceptions_queue.web.security import first, sign_in, sign_out

Clock = Callable[[], float]


class SessionKeeping(Protocol):
    """Where live sign-ins are kept, each by the digest of its id (the id itself is only ever in the cookie).

    The keeper tells the time: a sign-in is live until ``lifetime`` after it was added by the keeper's clock.
    ``storage.SqlStore.web_sessions`` keeps them in the store; ``InProcessSessions`` in this process only.
    """

    def add(self, digest: str, username: str, *, lifetime: timedelta) -> None:
        """Keep a new sign-in; expired ones may be dropped meanwhile."""

    def username(self, digest: str) -> str | None:
        """Who the sign-in belongs to while it is live; None once it expired, ended, or never was."""

    def remove(self, digest: str) -> None:
        """End the sign-in (nothing happens when it is not kept)."""


class FailureKeeping(Protocol):
    """Where failed sign-ins are counted, under opaque keys (digests: no username or address is kept in clear).

    ``storage.SqlStore.sign_in_failures`` keeps them in the store; ``InProcessFailures`` in this process only.
    """

    def add(self, keys: Sequence[str], *, keep_for: timedelta) -> None:
        """One failure now under each key; failures older than ``keep_for`` may be dropped meanwhile."""

    def ages(self, key: str, *, within: timedelta, most: int) -> list[float]:
        """Seconds since each of the key's failures younger than ``within``, youngest first, at most ``most``."""

    def clear(self, key: str) -> None:
        """Forget the key's failures."""


class SignInStore(Protocol):
    """A store that keeps sign-ins and failed sign-ins for every UI process over it (``storage.SqlStore``)."""

    @property
    def web_sessions(self) -> SessionKeeping: ...

    @property
    def sign_in_failures(self) -> FailureKeeping: ...


class InProcessSessions:
    """``SessionKeeping`` in a dict: what one process alone uses (tests, a UI without a store)."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._live: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def add(self, digest: str, username: str, *, lifetime: timedelta) -> None:
        with self._lock:
            now = self._clock()
            self._live = {k: v for k, v in self._live.items() if v[1] > now}
            self._live[digest] = (username, now + lifetime.total_seconds())

    def username(self, digest: str) -> str | None:
        with self._lock:
            found = self._live.get(digest)
            if found is None or found[1] <= self._clock():
                self._live.pop(digest, None)
                return None
            return found[0]

    def remove(self, digest: str) -> None:
        with self._lock:
            self._live.pop(digest, None)


class InProcessFailures:
    """``FailureKeeping`` in a dict of timestamps, at most ``max_keys`` keys (the stale ones go first)."""

    def __init__(self, *, clock: Clock = time.monotonic, max_keys: int = 10_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def add(self, keys: Sequence[str], *, keep_for: timedelta) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                oldest = now - keep_for.total_seconds()
                self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > oldest}
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def ages(self, key: str, *, within: timedelta, most: int) -> list[float]:
        now = self._clock()
        with self._lock:
            failures = self._failures.get(key)
            if not failures:
                return []
            while failures and failures[0] <= now - within.total_seconds():
                failures.popleft()
            return [now - at for at in reversed(failures)][:most]

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class SessionRegistry:
    """Live sign-ins by random id. The signed cookie carries only the id; an id not kept live is signed out.

    ``kept`` is where they live: the store (``SqlStore.web_sessions``), so every UI process over it honours a
    sign-in, a sign-out anywhere ends it everywhere, and a restart keeps people signed in until their
    ``max_age_seconds`` ends; or, by default, this process (timed by ``clock``), where a restart signs everyone
    out. Only a digest of the id is handed to ``kept``: whoever reads the store cannot sign in with it.
    """

    def __init__(self, *, max_age_seconds: float, clock: Clock = time.monotonic,
                 kept: SessionKeeping | None = None) -> None:
        self._lifetime = timedelta(seconds=max_age_seconds)
        self._kept = kept if kept is not None else InProcessSessions(clock=clock)

    def start(self, username: str) -> str:
        session_id = secrets.token_urlsafe(32)
        self._kept.add(_digest(session_id), username, lifetime=self._lifetime)
        return session_id

    def username(self, session_id: str) -> str | None:
        return self._kept.username(_digest(session_id))

    def end(self, session_id: str) -> None:
        self._kept.remove(_digest(session_id))


class SignInThrottle:
    """Failed sign-ins counted per username (whoever tries it) and per client address, in a sliding window.

    At ``per_user`` failures for one username, or ``per_ip`` from one address, further attempts are refused
    without checking the password until the oldest failure leaves the window. The same rule applies to
    usernames that do not exist, so the answer reveals nothing about which accounts exist.

    ``failures`` is where they are counted: the store (``SqlStore.sign_in_failures``), so every UI process
    over it counts the same failures and a restart forgets none; or, by default, this process (timed by
    ``clock``, at most ``max_keys`` usernames and addresses). Two processes checking at the same instant may
    each let one more attempt through: the limit holds to within the number of processes.
    """

    def __init__(self, *, per_user: int = 5, per_ip: int = 20, window_seconds: float = 15 * 60,
                 clock: Clock = time.monotonic, max_keys: int = 10_000,
                 failures: FailureKeeping | None = None) -> None:
        self.per_user, self.per_ip, self.window = per_user, per_ip, window_seconds
        self._failures = failures if failures is not None else InProcessFailures(clock=clock, max_keys=max_keys)

    def wait_seconds(self, username: str, address: str) -> int:
        """0 when an attempt may go ahead, else how long (whole seconds) until one may."""
        return max(self._wait(_user_key(username), self.per_user), self._wait(_address_key(address), self.per_ip))

    def failed(self, username: str, address: str) -> None:
        self._failures.add((_user_key(username), _address_key(address)), keep_for=timedelta(seconds=self.window))

    def succeeded(self, username: str) -> None:
        """A right password clears that username's failures (not the address's: one good account must not
        let an address go on guessing others)."""
        self._failures.clear(_user_key(username))

    def _wait(self, key: str, limit: int) -> int:
        ages = self._failures.ages(key, within=timedelta(seconds=self.window), most=limit)
        if len(ages) < limit:
            return 0
        # attempts resume once the limit-th youngest failure leaves the window (rounded up to a whole second)
        return max(1, int(self.window - ages[limit - 1] + 0.999))


def _kept(username: str) -> str:
    """The username typed, shown again after a refusal so only the password is typed again (as long as a
    username may be: the field is never a way to echo a large body back)."""
    return username.strip()[:128]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _user_key(username: str) -> str:
    # digested: a password typed into the username field must not be kept in clear, even for a window
    return _digest("user:" + username.strip().lower()[:128])


def _address_key(address: str) -> str:
    return _digest("ip:" + address)


def sign_in_throttle(request: Request) -> SignInThrottle:
    """The app's throttle of failed sign-ins (``app.state.throttle``)."""
    return request.app.state.throttle


router = APIRouter()


@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in form; ``next`` (a path on this site only) is where a right password goes."""
    return render_page(request, "login.html", user=None, next=_safe_next(next), username="", error=None)


@router.post("/login")
async def login(request: Request, desk: Desk, form: CsrfForm,
                throttle: Annotated[SignInThrottle, Depends(sign_in_throttle)]) -> Response:
    """A throttled username/password check: 429 with Retry-After while throttled, 401 when wrong, else a fresh
    session and a redirect to ``next``."""
    username, address = first(form, "username"), request.client.host if request.client else "unknown"
    wait = throttle.wait_seconds(username, address)
    if wait:
        refused = render_page(request, "login.html", 429, user=None, next=_safe_next(first(form, "next")),
                              username=_kept(username), error=f"Too many failed sign-ins. Wait {-(-wait // 60)} minute(s) and try again.")
        refused.headers["Retry-After"] = str(wait)
        return refused
    user = desk.authenticate(username, first(form, "password"))
    if user is None:
        throttle.failed(username, address)
        return render_page(request, "login.html", 401, user=None, next=_safe_next(first(form, "next")),
                           username=_kept(username), error="That username and password do not match.")
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
