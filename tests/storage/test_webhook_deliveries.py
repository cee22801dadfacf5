"""The store remembers webhook deliveries: one accepted once, even by two receivers at once, forgotten late."""

from __future__ import annotations

from datetime import timedelta

KEEP = timedelta(minutes=10)


def first(store, digest: str) -> bool:
    with store.unit_of_work() as uow:
        answer = uow.webhook_deliveries.first_time(digest, keep_for=KEEP)
        uow.commit()
    return answer


def test_a_delivery_is_new_once_and_a_replay_after_that(store):
    assert first(store, "a" * 64)
    assert not first(store, "a" * 64)
    assert first(store, "b" * 64)


def test_a_delivery_is_forgotten_only_once_its_own_time_would_refuse_it(store, clock):
    assert first(store, "a" * 64)
    clock.advance(minutes=9)
    assert not first(store, "a" * 64)
    clock.advance(minutes=2)

    assert first(store, "a" * 64)


def test_two_receivers_handed_one_delivery_at_once_accept_it_once(store):
    with store.unit_of_work() as one, store.unit_of_work() as other:
        answers = [one.webhook_deliveries.first_time("c" * 64, keep_for=KEEP)]
        one.commit()
        answers.append(other.webhook_deliveries.first_time("c" * 64, keep_for=KEEP))
        other.commit()

    assert answers == [True, False]
