"""Hostile source payloads: every mapping returns a work order or a case that keeps the payload, and never raises."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.housecallpro import map_housecallpro_job
from mappings.jobber import map_jobber_job
from mappings.servicetitan import map_servicetitan_job
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.deletions import SourceDeletion
from workorders.work_order import WorkOrder

FIXTURES = Path(__file__).parents[1] / "sources" / "fixtures"
DEEP = int(os.environ.get("CLOSEOUT_FUZZ_EXAMPLES", 0))
# `make test` replays the same 150 examples every time (a red CI run must mean a change broke something);
# CLOSEOUT_FUZZ_EXAMPLES=3000 explores afresh, as was done before each fix in the mappings.
FUZZ = settings(max_examples=DEEP or 150, derandomize=not DEEP, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _housecallpro() -> dict:
    return {"job": _fixture("housecallpro_job.json"), "line_items": _fixture("housecallpro_line_items.json")["line_items"]}


MAPPINGS: dict[str, tuple[Callable[..., WorkOrder | Anomaly], Callable[[], Any]]] = {
    "jobber": (map_jobber_job, lambda: _fixture("jobber_job.json")),
    "housecallpro": (map_housecallpro_job, _housecallpro),
    "servicetitan": (map_servicetitan_job, lambda: _fixture("servicetitan_job.json")),
}

# Values sources have been seen to send, and values an attacker or a broken export would.
HOSTILE_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**30, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "NaN", "Infinity", "-Infinity", "1e999999", "-0", "1,234.50", "0x1F", "١٢٣",
                     "9999-12-31T23:59:59-23:59", "0000-00-00T00:00:00Z", "2025-13-45T25:61:61Z", "2025-06-03",
                     "yesterday", "\x00", "a\x00b", "<script>alert(1)</script>", "'; DROP TABLE work_orders;--",
                     "../../etc/passwd", "\u202e\u0644\u0627", "x" * 5000, "%s%s%n", "{{7*7}}"]),
    st.text(max_size=40),
)
HOSTILE_VALUES = st.recursive(HOSTILE_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a node of a JSON tree (the root excluded), dict keys and list indexes alike."""
    found = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found.append(prefix + (key,))
        found.extend(_paths(child, prefix + (key,)))
    return found


def _mutate(payload: Any, path: tuple, new: Any, *, delete: bool) -> Any:
    result = copy.deepcopy(payload)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return result


def _check(result: WorkOrder | Anomaly | SourceDeletion, payload: Any) -> None:
    # a job payload saying ``active: false`` is ServiceTitan's word that the job is deleted (mappings.servicetitan)
    assert isinstance(result, WorkOrder | Anomaly | SourceDeletion)
    if isinstance(result, Anomaly):
        assert result.code in (AnomalyCode.source_payload_invalid,)
        # repr, not ==: a NaN payload is kept exactly and still not equal to itself
        assert repr(result.evidence["payload"]) == repr(payload), "the case must keep the payload exactly as received"
        assert result.summary


@pytest.mark.parametrize("source", sorted(MAPPINGS))
@FUZZ
@given(data=st.data())
def test_a_mapping_survives_any_field_replaced_or_removed_and_keeps_the_payload_of_a_bad_job(source, data):
    mapper, fixture = MAPPINGS[source]
    original = fixture()
    mutations = data.draw(st.integers(min_value=1, max_value=4))
    payload = original
    for _ in range(mutations):
        paths = _paths(payload)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        payload = _mutate(payload, path, data.draw(HOSTILE_VALUES), delete=data.draw(st.booleans()))
    _check(mapper(payload, company="acme", default_timezone="America/Chicago", currency="USD"), payload)


@pytest.mark.parametrize("source", sorted(MAPPINGS))
@FUZZ
@given(payload=HOSTILE_VALUES)
def test_a_mapping_turns_anything_that_is_not_a_job_into_a_case(source, payload):
    mapper, _ = MAPPINGS[source]
    result = mapper(payload, company="acme", default_timezone="America/Chicago", currency="USD")
    _check(result, payload)


@pytest.mark.parametrize("source", sorted(MAPPINGS))
def test_a_mapping_reads_a_job_in_an_unknown_time_zone_as_a_case_not_a_crash(source):
    mapper, fixture = MAPPINGS[source]
    payload = fixture()
    result = mapper(payload, company="acme", default_timezone="Mars/Olympus_Mons", currency="USD")
    # A bad zone in the company's config is the operator's mistake; the job must still not be lost.
    _check(result, payload)


def test_a_housecallpro_job_whose_employee_list_is_a_boolean_is_a_case_naming_the_shape():
    # Found by the fuzzer: iterating over True raised TypeError and stopped the whole pull.
    payload = _housecallpro()
    payload["job"]["assigned_employees"] = True
    result = map_housecallpro_job(payload, company="acme", default_timezone="America/Chicago")
    assert isinstance(result, Anomaly) and "TypeError" in result.summary
    assert result.evidence["payload"]["job"]["assigned_employees"] is True
