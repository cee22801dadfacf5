"""The store keeps the UI's sign-ins by digest and its failed sign-ins by opaque key, and drops both once stale."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exceptions_queue.users import Role
from exceptions_queue.web.signin import SessionRegistry, SignInThrottle
from services.users import add_user
from storage.sql_web_sessions import SqlSignInFailures
from storage.tables import sign_in_failures, web_sessions

TWELVE_HOURS = 12 * 3600


def rows(store, table) -> list[dict]:
    with store.engine.connect() as connection:
        return [dict(row) for row in connection.execute(sa.select(table)).mappings()]


def with_user(store, name: str = "dana"):
    add_user(store, name, Role.coordinator, "a long enough password", actor="test")
    return store


def test_the_store_keeps_a_digest_of_each_session_id_never_the_id_itself(store):
    registry = SessionRegistry(max_age_seconds=TWELVE_HOURS, kept=with_user(store).web_sessions)
    session_id = registry.start("dana")

    kept = rows(store, web_sessions)
    assert [row["username"] for row in kept] == ["dana"]
    assert session_id not in repr(kept) and len(kept[0]["digest"]) == 64
    assert SessionRegistry(max_age_seconds=TWELVE_HOURS, kept=store.web_sessions).username(session_id) == "dana"
    assert registry.username(kept[0]["digest"]) is None  # the digest read from the store does not sign anyone in


def test_a_session_kept_in_the_store_ends_at_its_lifetime_by_the_stores_clock(store, clock):
    registry = SessionRegistry(max_age_seconds=3600, kept=with_user(store).web_sessions)
    session_id = registry.start("dana")

    clock.advance(minutes=59, seconds=59)
    assert registry.username(session_id) == "dana" and registry.username("made-up") is None
    clock.advance(seconds=1)
    assert registry.username(session_id) is None


def test_an_ended_session_is_gone_from_the_store(store):
    registry = SessionRegistry(max_age_seconds=TWELVE_HOURS, kept=with_user(store).web_sessions)
    session_id = registry.start("dana")
    registry.end(session_id)

    assert rows(store, web_sessions) == []
    assert registry.username(session_id) is None


def test_expired_sessions_are_dropped_from_the_store_when_the_next_one_starts(store, clock):
    registry = SessionRegistry(max_age_seconds=3600, kept=with_user(store).web_sessions)
    registry.start("dana")
    registry.start("dana")
    clock.advance(hours=1)
    live = registry.start("dana")

    assert len(rows(store, web_sessions)) == 1
    assert registry.username(live) == "dana"


def test_failures_are_counted_in_the_store_youngest_first_and_dropped_once_older_than_the_window(store, clock):
    window = timedelta(minutes=15)
    store.sign_in_failures.add(["k1", "k2"], keep_for=window)
    clock.advance(minutes=5)
    store.sign_in_failures.add(["k1"], keep_for=window)

    ages = store.sign_in_failures.ages("k1", within=window, most=5)
    assert len(ages) == 2 and ages[0] < 1 and 300 <= ages[1] < 301
    youngest = store.sign_in_failures.ages("k1", within=window, most=1)
    assert len(youngest) == 1 and youngest[0] < 1
    clock.advance(minutes=10)
    assert len(store.sign_in_failures.ages("k1", within=window, most=5)) == 1
    store.sign_in_failures.add(["k3"], keep_for=window)
    assert sorted(row["key"] for row in rows(store, sign_in_failures)) == ["k1", "k3"]


def test_a_flood_of_failures_within_one_window_keeps_at_most_max_rows_forgetting_the_oldest(store, clock):
    window = timedelta(minutes=15)
    with Session(store.engine) as session:
        failures = SqlSignInFailures(session, clock=clock, max_rows=4)
        for n in range(5):
            failures.add([f"user{n}", "ip:one"], keep_for=window)
            clock.advance(seconds=1)
        session.commit()

    kept = sorted(row["key"] for row in rows(store, sign_in_failures))
    assert kept == ["ip:one", "ip:one", "user3", "user4"]


def test_clearing_a_key_forgets_its_failures_and_no_other(store):
    window = timedelta(minutes=15)
    store.sign_in_failures.add(["user", "address"], keep_for=window)
    store.sign_in_failures.clear("user")

    assert store.sign_in_failures.ages("user", within=window, most=5) == []
    assert len(store.sign_in_failures.ages("address", within=window, most=5)) == 1


def test_the_throttle_keeps_no_username_address_or_mistyped_password_in_clear_in_the_store(store):
    throttle = SignInThrottle(per_user=2, per_ip=10, window_seconds=600, failures=store.sign_in_failures)
    throttle.failed("my secret password", "203.0.113.7")
    throttle.failed("my secret password", "203.0.113.7")

    kept = repr(rows(store, sign_in_failures))
    assert "secret" not in kept and "203.0.113.7" not in kept
    assert throttle.wait_seconds("My Secret Password ", "198.51.100.1") == 600
    assert throttle.wait_seconds("someone else", "203.0.113.7") == 0
