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


MAX_FAILURE_ROWS = 100_000


class SqlSignInFailures:
    """``exceptions_queue.web.signin.FailureKeeping`` on the store: one row a failure a key, timed by the store.

    At most ``max_rows`` rows, whatever a flood from many addresses with many usernames sends within one
    window: past it the oldest failures are forgotten first, as ``InProcessFailures`` forgets its stalest keys.
    """

    def __init__(self, session: Session, *, clock: Callable[[], datetime], max_rows: int = MAX_FAILURE_ROWS) -> None:
        self._session = session
        self._clock = clock
        self._max_rows = max_rows

    def add(self, keys: Sequence[str], *, keep_for: timedelta) -> None:
        """Record a failure now under each key; every failure older than ``keep_for`` is dropped first (no
        throttle window reaches it), so the table holds one window's failures at most."""
        now = self._clock()
        self._session.execute(sa.delete(_f).where(_f.c.failed_at <= now - keep_for))
        if keys:
            self._session.execute(sa.insert(_f), [{"key": key, "failed_at": now} for key in keys])
            self._forget_beyond_max_rows()

    def _forget_beyond_max_rows(self) -> None:
        excess = self._session.execute(sa.select(sa.func.count()).select_from(_f)).scalar_one() - self._max_rows
        if excess > 0:
            oldest = sa.select(_f.c.id).order_by(_f.c.failed_at, _f.c.id).limit(excess).scalar_subquery()
            self._session.execute(sa.delete(_f).where(_f.c.id.in_(oldest)))

    def ages(self, key: str, *, within: timedelta, most: int) -> list[float]:
        now = self._clock()
        moments = self._session.execute(
            sa.select(_f.c.failed_at).where(_f.c.key == key, _f.c.failed_at > now - within)
            .order_by(_f.c.failed_at.desc()).limit(most)
        ).scalars()
        return [(now - at).total_seconds() for at in moments]

    def clear(self, key: str) -> None:
        self._session.execute(sa.delete(_f).where(_f.c.key == key))
