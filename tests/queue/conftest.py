"""Fixtures for the queue's tests: one repository per backend (memory, SQLite, PostgreSQL) and a fake clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from storage import open_store
from storage.database import store_url as normalised_url
from tests.fakes import InMemoryCases

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


@pytest.fixture(scope="session")
def queue_postgres() -> str:
    """The PostgreSQL server's URL; unreachable means skip, except under CI=true where it fails."""
    url = normalised_url(os.environ.get("CLOSEOUT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)).render_as_string(
        hide_password=False)
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        reason = f"PostgreSQL is unreachable: {' '.join(str(exc.orig).split())}"
        if in_ci():
            pytest.fail(f"{reason} (CI=true: these tests must run)", pytrace=False)
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


@contextmanager
def _schema(server_url: str) -> Iterator[str]:
    schema = f"test_q_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield sa.make_url(server_url).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_store(request, tmp_path, clock):
    """A migrated store on SQLite, then on PostgreSQL (a private schema)."""
    with _schema(request.getfixturevalue("queue_postgres")) if request.param == "postgresql" else _sqlite(tmp_path) as url:
        store = open_store(url, clock=clock)
        try:
            yield store
        finally:
            store.close()


@contextmanager
def _sqlite(tmp_path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'queue.db'}"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def cases_repository(request, tmp_path, clock):
    """The same CaseRepository contract on InMemoryCases and on SqlCases (SQLite, PostgreSQL)."""
    if request.param == "memory":
        yield InMemoryCases()
        return
    with _schema(request.getfixturevalue("queue_postgres")) if request.param == "postgresql" else _sqlite(tmp_path) as url:
        store = open_store(url, clock=clock)
        try:
            with store.unit_of_work() as uow:
                yield uow.cases
                uow.commit()
        finally:
            store.close()
