from __future__ import annotations

from decimal import Decimal

import pytest


def land(uow, external_id="J-1", payload=None, *, source="jobber", locator=None):
    return uow.raw.land(
        source=source,
        stream="jobs",
        external_id=external_id,
        locator=locator or f"https://api.example/jobs/{external_id}",
        payload={"id": external_id, "total": "10.00"} if payload is None else payload,
    )


def test_a_first_payload_is_landed_as_new(store):
    with store.unit_of_work() as uow:
        landed = land(uow)
    assert landed.is_new
    assert len(landed.payload_hash) == 64


def test_landing_the_same_content_twice_is_a_no_op(store):
    with store.unit_of_work() as uow:
        first = land(uow, payload={"id": "J-1", "total": "10.00"})
        second = land(uow, payload={"total": "10.00", "id": "J-1"})
        uow.commit()
        rows = list(uow.raw.replay(source="jobber"))
    assert not second.is_new
    assert (second.id, second.payload_hash) == (first.id, first.payload_hash)
    assert len(rows) == 1


def test_a_changed_payload_is_new_and_becomes_what_a_replay_returns(store):
    with store.unit_of_work() as uow:
        land(uow, payload={"id": "J-1", "total": "10.00"})
        changed = land(uow, payload={"id": "J-1", "total": "12.00"}, locator="page-2")
        replayed = list(uow.raw.replay(source="jobber"))
    assert changed.is_new
    assert replayed == [("jobs", "J-1", "page-2", {"id": "J-1", "total": "12.00"})]


def test_content_that_comes_back_after_a_change_is_new_again_without_a_copy(store):
    a, b = {"id": "J-1", "total": "10.00"}, {"id": "J-1", "total": "12.00"}
    with store.unit_of_work() as uow:
        first_a = land(uow, payload=a)
        land(uow, payload=b)
        again_a = land(uow, payload=a)
        replayed = [row[3] for row in uow.raw.replay(source="jobber")]
        repeated = land(uow, payload=a)
    assert again_a.is_new and again_a.id == first_a.id
    assert not repeated.is_new
    assert replayed == [a]


def test_a_replay_gives_the_current_payload_of_each_job_of_one_source_only(store):
    with store.unit_of_work() as uow:
        for number in range(3):
            land(uow, f"J-{number}", {"id": number, "rev": 1})
            land(uow, f"J-{number}", {"id": number, "rev": 2})
        land(uow, "J-0", {"other": True}, source="servicetitan")
        uow.commit()
        replayed = list(uow.raw.replay(source="jobber"))
    assert [(external_id, payload["rev"]) for _, external_id, _, payload in replayed] == [
        ("J-0", 2),
        ("J-1", 2),
        ("J-2", 2),
    ]


def test_a_replay_reads_every_job_across_pages(store, monkeypatch):
    monkeypatch.setattr("storage.sql_landing.REPLAY_PAGE", 2)
    with store.unit_of_work() as uow:
        for number in range(5):
            land(uow, f"J-{number}")
        assert [row[1] for row in uow.raw.replay(source="jobber")] == [f"J-{n}" for n in range(5)]


def test_jobs_are_counted_once_whatever_their_number_of_payloads(store):
    with store.unit_of_work() as uow:
        land(uow, "J-1", {"v": 1})
        land(uow, "J-1", {"v": 2})
        land(uow, "J-2")
        land(uow, "J-1", source="hubspot")
        uow.commit()
    assert store.raw.count_jobs() == 3
    assert store.raw.job_ids() == ["hubspot:J-1", "jobber:J-1", "jobber:J-2"]


def test_decimals_in_a_payload_are_kept_as_exact_strings(store):
    with store.unit_of_work() as uow:
        land(uow, payload={"price": Decimal("1234567890.123456789")})
        (_, _, _, payload), = uow.raw.replay(source="jobber")
    assert payload == {"price": "1234567890.123456789"}


def test_a_payload_that_is_not_json_is_refused_with_a_clear_error(store):
    with store.unit_of_work() as uow, pytest.raises(TypeError, match="set is not"):
        land(uow, payload={"tags": {"a", "b"}})


def test_a_stream_without_a_cursor_has_none(store):
    with store.unit_of_work() as uow:
        assert uow.cursors.get("jobber:jobs") is None


def test_a_cursor_set_twice_keeps_the_last_value(store):
    with store.unit_of_work() as uow:
        uow.cursors.set("jobber:jobs", "2025-03-01T00:00:00Z")
        uow.cursors.set("jobber:jobs", "2025-03-02T00:00:00Z")
        uow.cursors.set("imap:billing", "1700000000:42")
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.cursors.get("jobber:jobs") == "2025-03-02T00:00:00Z"
        assert uow.cursors.get("imap:billing") == "1700000000:42"


def test_a_cursor_moves_only_when_its_unit_of_work_commits(store):
    with store.unit_of_work() as uow:
        uow.cursors.set("jobber:jobs", "page-1")
        uow.commit()
        land(uow, "J-9")
        uow.cursors.set("jobber:jobs", "page-2")
    with store.unit_of_work() as uow:
        assert uow.cursors.get("jobber:jobs") == "page-1"
        assert uow.raw.count_jobs() == 0
