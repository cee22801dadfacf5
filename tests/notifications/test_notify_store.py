"""The notifications table: migration 0011 up and down, and a notice recorded and claimed once, on both databases."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from notifications import Channel, Notice, NoticeKind, NoticeStatus
from storage import open_store
from storage.database import create_store_engine, upgrade_schema
from tests.fakes import Clock
from tests.storage.conftest import downgrade_to, table_columns
from tests.storage.conftest import empty_database, postgres_server, store_url  # noqa: F401 - fixtures, used by name

NOTICE = Notice(key="case_assigned:7:ann:3", kind=NoticeKind.case_assigned, company="acme",
                recipient="ann@acme.test", channel=Channel.email, subject="Case #7\nBcc: evil@x.test",
                body="hello", case_id=7)


def table_columns(engine, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


def test_migration_0011_adds_the_notifications_table_and_user_emails_and_takes_them_away_again(store_url):
    engine = create_store_engine(store_url)
    try:
        upgrade_schema(engine)
        assert "notifications" in sa.inspect(engine).get_table_names()
        assert "email" in table_columns(engine, "users")
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO users (username, role, password_hash, created_at, email) "
                                       "VALUES ('ann', 'coordinator', 'x', CURRENT_TIMESTAMP, 'ann@acme.test')"))
        downgrade_to(engine, "0010_web_sessions")
        engine.dispose()
        assert "notifications" not in sa.inspect(engine).get_table_names()
        assert "email" not in table_columns(engine, "users")
        with engine.connect() as connection:  # the user stays, only the address goes
            assert connection.execute(sa.text("SELECT username FROM users")).scalars().all() == ["ann"]
        upgrade_schema(engine)
        assert "notifications" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_notice_is_recorded_once_and_only_one_sender_claims_it(store_url):
    clock = Clock()
    store = open_store(store_url, clock=clock)
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
