"""The daily digest: per person who takes cases, their open cases and the unassigned ones older than the SLA."""

from __future__ import annotations

from closeout.notifiers import open_notifiers
from services.casework import take_decision
from services.notify import record_digests, send_due
from tests.notifications.conftest import BOSS, open_case


def _digest(store, config):
    recorded = record_digests(store, config.company("acme"))
    with open_notifiers(config) as notifier_for:
        send_due(store, notifier_for)
    return recorded


def _digests_to(smtp, address):
    return [m for m in smtp.to(address) if m["X-Closeout-Notice"] == "daily_digest"]


def test_the_digest_lists_each_persons_open_cases_and_the_unassigned_ones_older_than_the_sla(
        store, config, smtp, clock, people):
    old = open_case(store, subject="csv:J1", summary="old and nobody's")
    mine = open_case(store, subject="csv:J2", summary="ann's own")
    take_decision(store, mine.id, "assign", actor=BOSS, fields={"assignee": "ann"})
    clock.advance(hours=25)
    young = open_case(store, subject="csv:J3", summary="opened an hour ago")
    clock.advance(hours=1)

    _digest(store, config)

    [ann] = _digests_to(smtp, "ann@acme.test")
    [bob] = _digests_to(smtp, "bob@acme.test")
    text = ann.get_content()
    assert "Your open cases (1)" in text and f"#{mine.id}" in text and "ann's own" in text
    assert "Unassigned for more than 24 hours (1)" in text and f"#{old.id}" in text
    assert f"#{young.id}" not in text
    assert "Your open cases" not in bob.get_content() and f"#{old.id}" in bob.get_content()
    assert _digests_to(smtp, "vera@acme.test") == []  # a viewer takes no cases


def test_a_second_digest_the_same_day_sends_nothing_and_the_next_day_sends_again(store, config, smtp, clock, people):
    open_case(store, summary="waiting")
    clock.advance(hours=30)

    first = _digest(store, config)
    clock.advance(hours=2)
    again = _digest(store, config)
    clock.advance(hours=24)
    next_day = _digest(store, config)

    assert len(first) == 2 and again == [] and len(next_day) == 2
    assert len(_digests_to(smtp, "ann@acme.test")) == 2
    assert len(_digests_to(smtp, "bob@acme.test")) == 2


def test_nobody_gets_a_digest_with_nothing_in_it(store, config, smtp, people):
    open_case(store, summary="brand new, unassigned")

    assert _digest(store, config) == []
    assert smtp.received == []
