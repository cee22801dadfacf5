"""The notifications table: migration 0011 up and down, and a notice recorded and claimed once, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from notifications import Channel, Notice, NoticeKind, NoticeStatus
from storage import open_store
from storage.database import alembic_config, create_store_engine, upgrade_schema
from tests.fakes import Clock
from tests.storage.conftest import postgres_server, private_schema  # noqa: F401 - the fixture, used by name

NOTICE = Notice(key="case_assigned:7:ann:3", kind=NoticeKind.case_assigned, company="acme",
                recipient="ann@acme.test", channel=Channel.email, subject="Case #7\nBcc: evil@x.test",
                body="hello", case_id=7)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with private_schema(request.getfixturevalue("postgres_server")) as schema_url:
        yield schema_url


def _columns(engine, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


def test_migration_0011_adds_the_notifications_table_and_user_emails_and_takes_them_away_again(url):
    engine = create_store_engine(url)
    try:
        upgrade_schema(engine)
        assert "notifications" in sa.inspect(engine).get_table_names()
        assert "email" in _columns(engine, "users")
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO users (username, role, password_hash, created_at, email) "
                                       "VALUES ('ann', 'coordinator', 'x', CURRENT_TIMESTAMP, 'ann@acme.test')"))
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0010_web_sessions")
        engine.dispose()
        assert "notifications" not in sa.inspect(engine).get_table_names()
        assert "email" not in _columns(engine, "users")
        with engine.connect() as connection:  # the user stays, only the address goes
            assert connection.execute(sa.text("SELECT username FROM users")).scalars().all() == ["ann"]
        upgrade_schema(engine)
        assert "notifications" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_notice_is_recorded_once_and_only_one_sender_claims_it(url):
    clock = Clock()
    store = open_store(url, clock=clock)
    try:
        with store.unit_of_work() as uow:
            first = uow.notifications.record([NOTICE])
            second = uow.notifications.record([NOTICE])
            uow.commit()
        with store.unit_of_work() as one, store.unit_of_work() as other:
            claimed = one.notifications.claim(NOTICE.key, lease=timedelta(minutes=10))
            one.commit()
            lost = other.notifications.claim(NOTICE.key, lease=timedelta(minutes=10))
            other.commit()
        with store.unit_of_work() as uow:
            uow.notifications.mark_sent(NOTICE.key)
            uow.commit()
            record = uow.notifications.get(NOTICE.key)
            due = uow.notifications.due()
    finally:
        store.close()

    assert first == [NOTICE.key] and second == []
    assert claimed is not None and claimed.attempts == 1 and lost is None
    assert record.status is NoticeStatus.sent and record.sent_at is not None and due == []
    assert record.notice.subject == "Case #7 Bcc: evil@x.test"  # one line: a subject cannot add headers
