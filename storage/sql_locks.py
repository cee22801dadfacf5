"""Named cross-process locks held in the store's database: PostgreSQL session advisory locks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def supports_named_locks(engine: Engine) -> bool:
    """True when ``named_lock`` really locks on this engine (PostgreSQL); SQLite callers lock a file instead."""
    return engine.dialect.name == "postgresql"


def lock_key(name: str) -> int:
    """The signed 64-bit advisory-lock key for ``name`` (stable across processes and machines)."""
    return int.from_bytes(hashlib.sha256(f"closeout:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def named_lock(engine: Engine, name: str) -> Iterator[None]:
    """Hold ``pg_advisory_lock`` for ``name`` on a connection of its own until the block ends.

    Waits while another session (any process or machine on that database) holds it. A session lock, not a
    transaction one, so the holder may commit work meanwhile; it is released explicitly, and by the server
    if the process dies.
    """
    if not supports_named_locks(engine):
        raise ValueError(f"named locks need PostgreSQL, not {engine.dialect.name}")
    key = lock_key(name)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
