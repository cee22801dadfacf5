"""The queue UI's sign-ins and failed sign-ins in the store, so every UI process shares them across restarts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.tables import sign_in_failures, web_sessions

_s = web_sessions
_f = sign_in_failures


class SqlWebSessions:
    """``exceptions_queue.web.signin.SessionKeeping`` on the store: the store's clock decides expiry."""

    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def add(self, digest: str, username: str, *, lifetime: timedelta) -> None:
        """Keep a sign-in until ``lifetime`` from now; expired ones are dropped first, so the table holds only
        sign-ins that could still be used (plus those that expired since the last sign-in anywhere)."""
        now = self._clock()
        self._session.execute(sa.delete(_s).where(_s.c.expires_at <= now))
        self._session.execute(sa.insert(_s).values(digest=digest, username=username, created_at=now,
                                                   expires_at=now + lifetime))

    def username(self, digest: str) -> str | None:
        return self._session.execute(
            sa.select(_s.c.username).where(_s.c.digest == digest, _s.c.expires_at > self._clock())
        ).scalar_one_or_none()

    def remove(self, digest: str) -> None:
        self._session.execute(sa.delete(_s).where(_s.c.digest == digest))


class SqlSignInFailures:
    """``exceptions_queue.web.signin.FailureKeeping`` on the store: one row a failure a key, timed by the store."""

    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def add(self, keys: Sequence[str], *, keep_for: timedelta) -> None:
        """Record a failure now under each key; every failure older than ``keep_for`` is dropped first (no
        throttle window reaches it), so the table holds one window's failures at most."""
        now = self._clock()
        self._session.execute(sa.delete(_f).where(_f.c.failed_at <= now - keep_for))
        if keys:
            self._session.execute(sa.insert(_f), [{"key": key, "failed_at": now} for key in keys])

    def ages(self, key: str, *, within: timedelta, most: int) -> list[float]:
        now = self._clock()
        moments = self._session.execute(
            sa.select(_f.c.failed_at).where(_f.c.key == key, _f.c.failed_at > now - within)
            .order_by(_f.c.failed_at.desc()).limit(most)
        ).scalars()
        return [(now - at).total_seconds() for at in moments]

    def clear(self, key: str) -> None:
        self._session.execute(sa.delete(_f).where(_f.c.key == key))
