"""Fixtures for the Prefect operations tests: a private PostgreSQL database for a Prefect server, a private store schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from storage.database import store_url as normalised_url


def _server_url() -> str:
    configured = os.environ.get("CLOSEOUT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    return normalised_url(configured).render_as_string(hide_password=False)


def _admin_engine() -> sa.Engine:
    """Skips when PostgreSQL is unreachable, unless CI=true: then it fails (CI never passes by skipping)."""
    engine = sa.create_engine(_server_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    return engine


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A new database for a Prefect server (asyncpg URL), dropped after the test, whoever is still connected."""
    engine = _admin_engine()
    name = f"prefect_{uuid.uuid4().hex[:12]}"
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(_server_url()).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def store_schema() -> Iterator[str]:
    """A private schema for the Closeout store; the URL sets search_path to it."""
    engine = _admin_engine()
    schema = f"prefect_ops_{uuid.uuid4().hex[:12]}"
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield sa.make_url(_server_url()).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
