"""SqlUsers: the people who sign in to the queue, and the digests of their API tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exceptions_queue.users import Role, User
from storage.tables import api_tokens, users


class SqlUsers:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def add(self, username: str, role: Role, password_hash: str, *, email: str | None = None,
            companies: tuple[str, ...] | None = None) -> User:
        """Create the user, or replace the role and password of an existing one (a reset); an ``email`` or
        ``companies`` of None leaves a reset user's address or companies as they were (``()``: every company)."""
        now = self._clock()
        row = self._session.execute(sa.select(users.c.created_at, users.c.email, users.c.companies)
                                    .where(users.c.username == username)).first()
        if row is None:
            self._session.execute(sa.insert(users).values(username=username, role=Role(role).value,
                                                          password_hash=password_hash, created_at=now, email=email,
                                                          companies=list(companies or ())))
            return User(username=username, role=role, created_at=now, email=email, companies=tuple(companies or ()))
        changes = {"role": Role(role).value, "password_hash": password_hash}
        if email is not None:
            changes["email"] = email
        if companies is not None:
            changes["companies"] = list(companies)
        self._session.execute(sa.update(users).where(users.c.username == username).values(**changes))
        return User(username=username, role=role, created_at=row.created_at,
                    email=row.email if email is None else email,
                    companies=tuple(row.companies or ()) if companies is None else tuple(companies))

    def get(self, username: str) -> User | None:
        row = self._session.execute(sa.select(users).where(users.c.username == username)).mappings().first()
        return None if row is None else _user(row)

    def password_hash(self, username: str) -> str | None:
        return self._session.execute(
            sa.select(users.c.password_hash).where(users.c.username == username)
        ).scalar_one_or_none()

    def all(self) -> list[User]:
        rows = self._session.execute(sa.select(users).order_by(users.c.username)).mappings()
        return [_user(r) for r in rows]

    def add_token(self, username: str, digest: str, label: str) -> None:
        self._session.execute(sa.insert(api_tokens).values(digest=digest, username=username, label=label,
                                                           created_at=self._clock()))

    def user_for_token(self, digest: str) -> User | None:
        username = self._session.execute(
            sa.select(api_tokens.c.username).where(api_tokens.c.digest == digest)
        ).scalar_one_or_none()
        return None if username is None else self.get(username)


def _user(row) -> User:
    return User(username=row["username"], role=Role(row["role"]), created_at=row["created_at"], email=row["email"],
                companies=tuple(row["companies"] or ()))
