"""A user's companies in the store: migration 0013 up and down, and the SQL adapter keeping them, on both databases."""

from __future__ import annotations

import sqlalchemy as sa

from exceptions_queue.users import Role
from storage import open_store
from storage.database import create_store_engine, upgrade_schema
from tests.fakes import Clock
from tests.storage.conftest import downgrade_to, table_columns


def table_columns(engine, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


def test_migration_0013_adds_user_companies_and_takes_them_away_keeping_the_users_and_their_tokens(store_url):
    engine = create_store_engine(store_url)
    try:
        upgrade_schema(engine)
        assert "companies" in table_columns(engine, "users")
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO users (username, role, password_hash, created_at) "
                                       "VALUES ('ann', 'coordinator', 'x', CURRENT_TIMESTAMP)"))
            connection.execute(sa.text("INSERT INTO api_tokens (digest, username, label, created_at) "
                                       "VALUES ('d1', 'ann', 'script', CURRENT_TIMESTAMP)"))
        downgrade_to(engine, "0012_cutovers")
        engine.dispose()
        assert "companies" not in table_columns(engine, "users")
        with engine.connect() as connection:  # the user and its token stay, only the companies go
            assert connection.execute(sa.text("SELECT username FROM users")).scalars().all() == ["ann"]
            assert connection.execute(sa.text("SELECT digest FROM api_tokens")).scalars().all() == ["d1"]
        upgrade_schema(engine)
        assert "companies" in table_columns(engine, "users")
    finally:
        engine.dispose()


def test_a_user_written_before_0013_sees_every_company_and_a_reset_keeps_or_replaces_its_companies(store_url):
    engine = create_store_engine(store_url)
    try:
        upgrade_schema(engine)
        with engine.begin() as connection:  # a row as 0012 left it: no companies at all
            connection.execute(sa.text("INSERT INTO users (username, role, password_hash, created_at) "
                                       "VALUES ('old', 'viewer', 'x', CURRENT_TIMESTAMP)"))
    finally:
        engine.dispose()
    store = open_store(store_url, clock=Clock())
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
