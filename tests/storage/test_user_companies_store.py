"""A user's companies in the store: migration 0013 up and down, and the SQL adapter keeping them, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from exceptions_queue.users import Role
from storage import open_store
from storage.database import alembic_config, create_store_engine, upgrade_schema
from tests.fakes import Clock
from tests.storage.conftest import postgres_server, private_schema  # noqa: F401 - the fixture, used by name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with private_schema(request.getfixturevalue("postgres_server")) as schema_url:
        yield schema_url


def _columns(engine, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


def test_migration_0013_adds_user_companies_and_takes_them_away_keeping_the_users_and_their_tokens(url):
    engine = create_store_engine(url)
    try:
        upgrade_schema(engine)
        assert "companies" in _columns(engine, "users")
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO users (username, role, password_hash, created_at) "
                                       "VALUES ('ann', 'coordinator', 'x', CURRENT_TIMESTAMP)"))
            connection.execute(sa.text("INSERT INTO api_tokens (digest, username, label, created_at) "
                                       "VALUES ('d1', 'ann', 'script', CURRENT_TIMESTAMP)"))
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0012_cutovers")
        engine.dispose()
        assert "companies" not in _columns(engine, "users")
        with engine.connect() as connection:  # the user and its token stay, only the companies go
            assert connection.execute(sa.text("SELECT username FROM users")).scalars().all() == ["ann"]
            assert connection.execute(sa.text("SELECT digest FROM api_tokens")).scalars().all() == ["d1"]
        upgrade_schema(engine)
        assert "companies" in _columns(engine, "users")
    finally:
        engine.dispose()


def test_a_user_written_before_0013_sees_every_company_and_a_reset_keeps_or_replaces_its_companies(url):
    engine = create_store_engine(url)
    try:
        upgrade_schema(engine)
        with engine.begin() as connection:  # a row as 0012 left it: no companies at all
            connection.execute(sa.text("INSERT INTO users (username, role, password_hash, created_at) "
                                       "VALUES ('old', 'viewer', 'x', CURRENT_TIMESTAMP)"))
    finally:
        engine.dispose()
    store = open_store(url, clock=Clock())
    try:
        with store.unit_of_work() as uow:
            added = uow.users.add("ann", Role.coordinator, "h1", companies=("northwind", "harbour"))
            uow.commit()
        with store.unit_of_work() as uow:
            kept = uow.users.add("ann", Role.finance, "h2")
            uow.commit()
        with store.unit_of_work() as uow:
            read = uow.users.get("ann")
            old = uow.users.get("old")
            widened = uow.users.add("ann", Role.finance, "h3", companies=())
            uow.commit()
        with store.unit_of_work() as uow:
            again = uow.users.get("ann")
            everyone = {user.username: user.companies for user in uow.users.all()}
    finally:
        store.close()
    assert added.companies == kept.companies == read.companies == ("northwind", "harbour")
    assert old.companies == () and old.sees("anything")
    assert widened.companies == again.companies == ()
    assert everyone == {"ann": (), "old": ()}
