from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage import open_store
from storage.database import alembic_config, create_store_engine, store_url as normalised_url, upgrade_schema
from storage.tables import metadata
from tests.storage.conftest import downgrade_to

STORE_TABLES = {
    "raw_payloads",
    "work_order_versions",
    "rule_decisions",
    "push_records",
    "cursors",
    "cases",
    "case_history",
    "webhook_deliveries",
    "corrections",
    "web_sessions",
    "sign_in_failures",
}


def test_opening_a_store_migrates_an_empty_database_to_head(store):
    tables = set(sa.inspect(store.engine).get_table_names())
    assert STORE_TABLES | {"alembic_version"} <= tables
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with store.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
        if connection.dialect.name == "postgresql":  # the test's private schema holds everything
            schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
            assert schema.startswith("test_")
            assert "alembic_version" in sa.inspect(connection).get_table_names(schema=schema)


def test_the_hand_written_migration_creates_exactly_the_tables_the_code_uses(store):
    with store.engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), metadata
        )
    assert differences == []


def test_opening_a_store_twice_leaves_the_schema_as_it_was(store_url):
    for _ in range(2):
        opened = open_store(store_url)
        opened.close()
    engine = create_store_engine(store_url)
    try:
        assert STORE_TABLES <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_migration_downgrades_to_nothing_and_upgrades_again(store_url):
    engine = create_store_engine(store_url)
    try:
        upgrade_schema(engine)
        downgrade_to(engine, "base")
        assert not STORE_TABLES & set(sa.inspect(engine).get_table_names())
        upgrade_schema(engine)
        assert STORE_TABLES <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 5000
    finally:
        engine.dispose()


def test_a_postgresql_url_without_a_driver_means_psycopg_3():
    assert normalised_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalised_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalised_url("sqlite:///x.db").drivername == "sqlite"


OPEN_WHEN_TOLD = """
import pathlib, sys, time
sys.path.insert(0, sys.argv[1])
from storage import open_store
go = pathlib.Path(sys.argv[3])
pathlib.Path(sys.argv[4]).touch()
while not go.exists():
    time.sleep(0.005)
open_store(sys.argv[2]).close()
"""


def test_processes_opening_a_new_store_at_the_same_time_all_succeed(store_url, tmp_path):
    root = str(Path(__file__).resolve().parents[2])
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(3)]
    workers = [
        subprocess.Popen([sys.executable, "-c", OPEN_WHEN_TOLD, root, store_url, str(go), str(flag)], stderr=subprocess.PIPE)
        for flag in ready
    ]
    deadline = time.monotonic() + 60
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    errors = [worker.communicate(timeout=60)[1].decode() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], errors
