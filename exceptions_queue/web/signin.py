"""Sign-ins kept on the server (so signing out or in again kills the old cookie) and sign-in throttling."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

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
