"""Opening the store: an engine for the URL (SQLite tuned for several processes, or PostgreSQL) and its schema."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import StaticPool

from storage.unit_of_work import SqlStore

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 5000
# Any constant will do: it only has to be the same for every process that migrates this database.
_MIGRATION_LOCK_ID = 7_316_051
# Alembic keeps the running migration in module globals (alembic.context, alembic.op): one at a time per process.
_ALEMBIC_IN_USE = threading.Lock()


def store_url(url: str | URL) -> URL:
    """The URL with its driver made explicit: ``postgresql://`` and ``postgres://`` mean psycopg 3."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_store_engine(url: str | URL, *, connect_args: Mapping[str, Any] | None = None) -> Engine:
    """An engine for the store.

    SQLite gets WAL (readers never wait for the writer), foreign keys (off by default there) and a busy
    timeout (a second writer waits instead of failing at once). ``sqlite://`` in memory shares a single
    connection, so its units of work see each other: fit for previews, not for concurrency.
    """
    parsed = store_url(url)
    args = dict(connect_args or {})
    if parsed.get_backend_name() == "sqlite":
        args.setdefault("check_same_thread", False)
        in_memory = parsed.database in (None, "", ":memory:")
        engine = sa.create_engine(parsed, connect_args=args, poolclass=StaticPool if in_memory else None)
        sa.event.listen(engine, "connect", _sqlite_pragmas(wal=not in_memory))
        return engine
    return sa.create_engine(parsed, connect_args=args, pool_pre_ping=True)


def _sqlite_pragmas(*, wal: bool) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            if wal:
                _switch_to_wal(cursor)
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return on_connect


def _switch_to_wal(cursor: Any) -> None:
    """WAL stays set in the file once set; setting it on a new file needs the file alone for a moment.

    SQLite answers "locked" at once, without the busy timeout, when processes that start together all try
    it, so this waits for its turn the same length of time.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def alembic_config() -> Config:
    """Alembic's configuration as shipped inside the package, so an installed Closeout can migrate itself."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade_schema(engine: Engine, *, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one transaction on this engine.

    Processes that start together migrate one after the other: PostgreSQL takes an advisory lock, SQLite
    takes its write lock up front (``BEGIN IMMEDIATE``), which also makes its DDL one transaction. A store
    already at head takes no lock at all, so opening it never waits for a busy writer.
    """
    config = alembic_config()
    if revision == "head" and _at_head(engine, config):
        return
    with _ALEMBIC_IN_USE, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _at_head(engine: Engine, config: Config) -> bool:
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current is not None and current == ScriptDirectory.from_config(config).get_current_head()


def open_store(
    url: str | URL,
    *,
    connect_args: Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SqlStore:
    """The store at ``url``, its schema brought up to date; ``close()`` it when done."""
    engine = create_store_engine(url, connect_args=connect_args)
    try:
        upgrade_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine, clock=clock)
