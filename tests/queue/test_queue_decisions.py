"""The queue service's decisions, run on the tests' InMemoryCases and on SqlCases (SQLite and PostgreSQL) alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import CaseFilters, filter_cases
from exceptions_queue.service import CaseQueue, CaseTransitionError, override_approved
from workorders.anomalies import Anomaly


@pytest.fixture
def queue(cases_repository, clock):
    return CaseQueue(cases_repository, clock=clock)


def open_one(queue, subject="csv:J1@v1", kind=CaseKind.missing_mapping):
    case, _ = queue.open_case(Anomaly(code=kind, subject=subject, company="northwind", summary=f"{kind} {subject}",
                                      work_order_id=subject.split("@")[0], work_order_version=1))
    return case


def test_every_decision_is_kept_in_order_with_who_why_and_before_after(queue):
    case = open_one(queue)
    queue.assign(case.id, actor="ada", assignee="dana")
    queue.tag(case.id, actor="dana", tag="  Waiting On Vendor ")
    queue.comment(case.id, actor="dana", note="asked the supplier for the item code")
    queue.resolve(case.id, actor="dana", note="mapped by hand")
    stored = queue.get(case.id)
    assert [(h.actor, h.action) for h in stored.history] == [
        ("closeout", "opened"), ("ada", "assigned"), ("dana", "tagged"), ("dana", "commented"), ("dana", "resolved")]
    assigned = stored.history[1]
    assert assigned.before == {"assignee": None, "status": "open"}
    assert assigned.after == {"assignee": "dana", "status": "in_progress"}
    assert stored.history[2].after == {"tags": ["waiting on vendor"]}
    assert stored.history[3].note == "asked the supplier for the item code"
    assert stored.status is CaseStatus.resolved


def test_an_ignore_needs_a_reason_and_can_be_undone_with_both_steps_in_the_history(queue):
    case = open_one(queue)
    with pytest.raises(CaseTransitionError):
        queue.ignore(case.id, actor="dana", note="  ")
    queue.ignore(case.id, actor="dana", note="duplicate of the job billed by hand")
    undone = queue.undo_ignore(case.id, actor="dana", note="it was not a duplicate")
    assert undone.status is CaseStatus.open
    assert [h.action for h in undone.history][-2:] == ["ignored", "unignored"]
    with pytest.raises(CaseTransitionError):
        queue.undo_ignore(case.id, actor="dana")


def test_tags_are_added_once_and_removed_by_name(queue):
    case = open_one(queue)
    queue.tag(case.id, actor="dana", tag="urgent")
    again = queue.tag(case.id, actor="dana", tag="URGENT")
    assert again.tags == ("urgent",)
    assert [h.action for h in again.history].count("tagged") == 1
    assert queue.untag(case.id, actor="dana", tag="urgent").tags == ()


def test_an_override_needs_a_reason_and_counts_only_until_the_case_is_reopened(queue):
    case = open_one(queue, kind=CaseKind.rule_blocked)
    with pytest.raises(CaseTransitionError):
        queue.approve_override(case.id, actor="fin", reason="")
    approved = queue.approve_override(case.id, actor="fin", reason="customer agreed to the extra hour")
    assert override_approved(approved)
    queue.resolve(case.id, actor="fin", note="billed")
    assert not override_approved(queue.reopen(case.id, actor="fin", note="billed wrongly"))


def test_a_recorded_replay_keeps_its_outcome_on_the_case(queue):
    case = open_one(queue)
    recorded = queue.record(case.id, actor="dana", action="replayed", note="Invoice NW-1 created",
                            after={"outcome": "pushed", "ledger_id": "40"})
    assert recorded.history[-1].after == {"outcome": "pushed", "ledger_id": "40"}
    assert recorded.status is CaseStatus.open


def test_a_case_closes_by_itself_when_its_cause_clears_and_says_so(queue):
    case = open_one(queue)
    closed = queue.close_if_cleared(case, note="the mapping was added")
    assert closed.status is CaseStatus.resolved
    assert (closed.history[-1].actor, closed.history[-1].action) == ("closeout", "auto_resolved")


def test_the_list_filters_by_assignee_tag_and_age(queue, clock):
    old = open_one(queue, "csv:J1@v1")
    clock.advance(days=2)
    new = open_one(queue, "csv:J2@v1")
    queue.assign(new.id, actor="ada", assignee="dana")
    queue.tag(old.id, actor="ada", tag="vendor")
    listed = queue_list(queue)
    now = clock.now + timedelta(minutes=1)
    assert [c.id for c in filter_cases(listed, CaseFilters(assignee="dana"), now=now)] == [new.id]
    assert [c.id for c in filter_cases(listed, CaseFilters(assignee="-"), now=now)] == [old.id]
    assert [c.id for c in filter_cases(listed, CaseFilters(tag="vendor"), now=now)] == [old.id]
    assert [c.id for c in filter_cases(listed, CaseFilters(older_than="1d"), now=now)] == [old.id]


def queue_list(queue):
    return queue._cases.list(statuses=(CaseStatus.open, CaseStatus.in_progress))
