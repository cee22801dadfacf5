"""Stored JSON columns written as text by orjson read back as the standard library's text did; hashes do not move."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from storage.sql_landing import canonical_payload, canonical_text
from storage.stored_json import stored_json
from storage.tables import raw_payloads, rule_decisions, work_order_versions
from workorders.decisions import Outcome, RuleDecision
from workorders.work_order import snapshot

@dataclass(frozen=True)
class Job:
    """A ``workorders.ports.RawJob``."""

    source: str
    stream: str
    external_id: str
    locator: str
    payload: dict


PLAIN = [
    {"rule": "R-1", "amount": "95.50", "lines": [1, 2.5, -3, None, True], "nested": {"é": "ü", "quote": "a\"b"}},
    {"candidates": ("Harbour Dental", "Harbor Dental")},  # a tuple is written as a list, as json.dumps does
    {"big": 2**70, "small": 1e-7, "tiny": 5e-324, "zero": -0.0},  # past 64 bits: json.dumps writes it
    {1: "a key that is not text"},  # orjson refuses it: json.dumps turns the key into "1"
    [],
    {"text": "line\nbreak\u2028\x00"},
]


@pytest.mark.parametrize("value", PLAIN, ids=range(len(PLAIN)))
def test_stored_text_reads_back_as_the_standard_librarys_text_did(value):
    assert json.loads(stored_json(value)) == json.loads(json.dumps(value))


def test_a_nan_or_an_infinity_takes_the_old_encoder_instead_of_becoming_null():
    value = {"ratio": float("nan"), "limit": [float("inf")], "note": None}
    assert stored_json(value) == json.dumps(value)
    assert stored_json({"note": None, "ratio": 0.5}) == '{"note":null,"ratio":0.5}'  # a null alone is orjson's


def test_what_json_dumps_refuses_is_refused_as_before():
    for value in ({"at": datetime(2025, 3, 1, tzinfo=UTC)}, {"amount": Decimal("1.50")}):
        with pytest.raises(TypeError):
            stored_json(value)


def test_a_subclass_of_a_builtin_is_written_by_the_general_encoder():
    class Label(str):
        pass

    assert stored_json({"label": Label("x")}, general=lambda value: "GENERAL") == "GENERAL"
    assert json.loads(stored_json({"id": uuid.UUID(int=1)})) == {"id": str(uuid.UUID(int=1))}


def test_the_canonical_text_and_its_hash_are_still_the_standard_librarys():
    payload = {"b": [1, {"z": "é", "a": Decimal("10.10")}], "a": None}
    text, digest = canonical_text(payload)
    assert text == '{"a":null,"b":[1,{"a":"10.10","z":"é"}]}'
    assert digest == hashlib.sha256(text.encode()).hexdigest() == canonical_payload(payload)[1]
    assert canonical_payload(payload)[0] == json.loads(text)


def test_landed_payloads_snapshots_and_evidence_read_back_as_they_were_given(store, make_order):
    payload = {"id": "J-1", "title": "Réparation", "lines": [{"qty": 1.5, "price": "95.50"}], "note": None}
    order = make_order("J-1")
    evidence = {"candidates": ("A", "B"), "amount": Decimal("1.50"), "score": 0.25, "none": None}
    with store.unit_of_work() as uow:
        landed = uow.raw.land_many([Job("jobber", "jobs", "J-1", "page-1", payload)])
        saved = uow.work_orders.save_many([order])
        uow.decisions.add([RuleDecision(rule_id="R-1", rule_version=1, work_order_id=order.id, work_order_version=1,
                                        outcome=Outcome.warn, reason="why", evidence=evidence, run_id="r")])
        uow.commit()
    with store.engine.connect() as connection:
        kept = connection.execute(sa.select(raw_payloads.c.payload_hash, raw_payloads.c.payload)).one()
        stored = connection.execute(sa.select(work_order_versions.c.snapshot)).scalar_one()
        decided = connection.execute(sa.select(rule_decisions.c.evidence)).scalar_one()
    assert landed[0].is_new and kept.payload_hash == canonical_payload(payload)[1] == landed[0].payload_hash
    assert kept.payload == canonical_payload(payload)[0]
    assert stored == snapshot(saved[0].order)
    assert decided == {"candidates": ["A", "B"], "amount": "1.50", "score": 0.25, "none": None}
    with store.unit_of_work() as uow:
        assert uow.work_orders.get(order.id) == saved[0].order
        assert uow.decisions.for_work_order(order.id)[0].evidence == decided
