"""One behaviour for every CaseRepository: the tests' InMemoryCases, and SqlCases on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from exceptions_queue.cases import Case, CaseKind, CaseStatus, HistoryEntry, Severity
from exceptions_queue.service import CaseNotFoundError, CaseQueue, CaseTransitionError
from storage import open_store
from tests.fakes import InMemoryCases
from workorders.anomalies import Anomaly


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def repository(request, empty_database):
    if request.param == "memory":
        yield InMemoryCases()
        return
    store = open_store(empty_database(request.param))
    try:
        with store.unit_of_work() as uow:
            yield uow.cases
            uow.commit()
    finally:
        store.close()


@pytest.fixture
def queue(repository, clock):
    return CaseQueue(repository, clock=clock)


def anomaly(subject="jobber:J-1", code=CaseKind.rule_blocked, **changes):
    fields = {
        "code": code,
        "subject": subject,
        "company": "acme",
        "summary": f"{code} on {subject}",
        "evidence": {"rule": "R-customer", "candidates": ["Harbour Dental", "Harbor Dental"], "amount": "95.50"},
        "work_order_id": subject,
        "work_order_version": 2,
        "suggested_actions": ("map_customer", "ignore"),
    }
    return Anomaly(**{**fields, **changes})


def test_opening_a_case_stores_everything_the_anomaly_says(queue, clock):
    case, opened = queue.open_case(anomaly())
    stored = queue.get(case.id)
    assert opened and case.id is not None
    assert stored == case
    assert (stored.kind, stored.severity, stored.status) == (CaseKind.rule_blocked, Severity.medium, CaseStatus.open)
    assert stored.evidence["candidates"] == ["Harbour Dental", "Harbor Dental"]
    assert stored.suggested_actions == ("map_customer", "ignore")
    assert (stored.work_order_id, stored.work_order_version, stored.company) == ("jobber:J-1", 2, "acme")
    assert [(entry.action, entry.actor) for entry in stored.history] == [("opened", "closeout")]
    assert stored.opened_at == stored.updated_at == stored.history[0].at


def test_the_same_problem_about_the_same_subject_returns_the_open_case(queue):
    first, _ = queue.open_case(anomaly())
    again, opened = queue.open_case(anomaly(summary="seen again"))
    assert not opened
    assert again == first
    assert queue.get(first.id).summary == first.summary


def test_another_kind_or_another_subject_opens_its_own_case(queue):
    first, _ = queue.open_case(anomaly())
    other_kind, opened_kind = queue.open_case(anomaly(code=CaseKind.missing_mapping))
    other_subject, opened_subject = queue.open_case(anomaly("jobber:J-2"))
    assert opened_kind and opened_subject
    assert len({first.id, other_kind.id, other_subject.id}) == 3


def test_a_case_in_progress_still_absorbs_the_same_problem(queue):
    case, _ = queue.open_case(anomaly())
    queue.assign(case.id, actor="dana", assignee="dana")
    again, opened = queue.open_case(anomaly())
    assert not opened and again.id == case.id and again.status is CaseStatus.in_progress


def test_a_closed_case_does_not_absorb_a_new_occurrence(queue):
    case, _ = queue.open_case(anomaly())
    queue.resolve(case.id, actor="dana", note="customer mapped")
    newer, opened = queue.open_case(anomaly())
    assert opened and newer.id != case.id


def test_assigning_an_open_case_puts_it_in_progress_and_records_the_change(queue):
    case, _ = queue.open_case(anomaly())
    assigned = queue.assign(case.id, actor="lead", assignee="dana")
    assert (assigned.status, assigned.assignee) == (CaseStatus.in_progress, "dana")
    entry = assigned.history[-1]
    assert (entry.action, entry.actor, entry.note) == ("assigned", "lead", "dana")
    assert entry.before == {"assignee": None, "status": "open"}
    assert entry.after == {"assignee": "dana", "status": "in_progress"}
    assert queue.get(case.id) == assigned


def test_reassigning_a_case_in_progress_changes_only_the_assignee(queue):
    case, _ = queue.open_case(anomaly())
    queue.assign(case.id, actor="lead", assignee="dana")
    again = queue.assign(case.id, actor="lead", assignee="sam")
    assert (again.status, again.assignee) == (CaseStatus.in_progress, "sam")


def test_a_resolved_case_cannot_be_resolved_again(queue):
    case, _ = queue.open_case(anomaly())
    resolved = queue.resolve(case.id, actor="dana", note="mapped the customer")
    assert resolved.status is CaseStatus.resolved and not resolved.is_open
    with pytest.raises(CaseTransitionError):
        queue.resolve(case.id, actor="dana", note="again")
    assert len(queue.get(case.id).history) == 2


def test_ignoring_a_case_needs_a_reason(queue):
    case, _ = queue.open_case(anomaly())
    with pytest.raises(CaseTransitionError, match="reason"):
        queue.ignore(case.id, actor="dana", note="   ")
    assert queue.get(case.id) == case
    ignored = queue.ignore(case.id, actor="dana", note="duplicate job in the source")
    assert (ignored.status, ignored.history[-1].note) == (CaseStatus.ignored, "duplicate job in the source")


def test_a_closed_case_can_be_reopened_but_an_open_one_cannot(queue):
    case, _ = queue.open_case(anomaly())
    with pytest.raises(CaseTransitionError):
        queue.reopen(case.id, actor="dana")
    queue.ignore(case.id, actor="dana", note="not ours")
    reopened = queue.reopen(case.id, actor="lead", note="it is ours")
    assert reopened.status is CaseStatus.open
    assert reopened.history[-1].before == {"status": "ignored"}


def test_clearing_the_cause_resolves_the_case_automatically(queue):
    case, _ = queue.open_case(anomaly())
    cleared = queue.close_if_cleared(case, note="customer now mapped")
    assert cleared.status is CaseStatus.resolved
    assert (cleared.history[-1].action, cleared.history[-1].actor) == ("auto_resolved", "closeout")
    assert queue.close_if_cleared(cleared, note="again") == cleared


def test_history_is_append_only_and_in_order(queue):
    case, _ = queue.open_case(anomaly())
    seen = [queue.get(case.id).history]
    queue.assign(case.id, actor="lead", assignee="dana")
    seen.append(queue.get(case.id).history)
    queue.resolve(case.id, actor="dana", note="fixed")
    seen.append(queue.get(case.id).history)
    queue.reopen(case.id, actor="lead", note="not fixed")
    seen.append(queue.get(case.id).history)
    for earlier, later in zip(seen, seen[1:]):
        assert later[: len(earlier)] == earlier and len(later) == len(earlier) + 1
    history = seen[-1]
    assert [entry.action for entry in history] == ["opened", "assigned", "resolved", "reopened"]
    assert [entry.at for entry in history] == sorted(entry.at for entry in history)


def test_an_update_keeps_the_stored_history_whatever_the_case_carries(repository, queue, clock):
    case, _ = queue.open_case(anomaly())
    entry = HistoryEntry(at=clock(), actor="dana", action="tagged", note="vip", after={"tags": "vip"})
    updated = repository.update(case.model_copy(update={"tags": ("vip",), "history": ()}), entry)
    assert updated.tags == ("vip",)
    assert [e.action for e in updated.history] == ["opened", "tagged"]
    assert repository.get(case.id) == updated


def test_an_unknown_case_is_none_in_the_repository_and_an_error_in_the_queue(repository, queue):
    assert repository.get(4040) is None
    with pytest.raises(CaseNotFoundError):
        queue.get(4040)


def test_a_list_is_newest_first_and_applies_every_filter(repository, queue):
    blocked, _ = queue.open_case(anomaly("jobber:J-1"))
    rejected, _ = queue.open_case(anomaly("jobber:J-2", code=CaseKind.ledger_rejected))
    other, _ = queue.open_case(anomaly("jobber:J-3", company="globex"))
    unmatched, _ = queue.open_case(anomaly("msg:<a@b>", code=CaseKind.unmatched_email, work_order_id=None))
    queue.resolve(rejected.id, actor="dana", note="fixed tax code")

    def ids(**filters):
        return [case.id for case in repository.list(**filters)]

    assert ids() == [unmatched.id, other.id, rejected.id, blocked.id]
    assert ids(statuses=[CaseStatus.open]) == [unmatched.id, other.id, blocked.id]
    assert ids(statuses=[CaseStatus.resolved, CaseStatus.ignored]) == [rejected.id]
    assert ids(kinds=[CaseKind.ledger_rejected, CaseKind.unmatched_email]) == [unmatched.id, rejected.id]
    assert ids(company="globex") == [other.id]
    assert ids(work_order_id="jobber:J-2") == [rejected.id]
    assert ids(statuses=[CaseStatus.open], company="acme", kinds=[CaseKind.rule_blocked]) == [blocked.id]
    assert ids(limit=2) == [unmatched.id, other.id]
    assert ids(company="initech") == []


def test_listed_cases_carry_their_current_fields(repository, queue):
    case, _ = queue.open_case(anomaly())
    queue.assign(case.id, actor="lead", assignee="dana")
    (listed,) = repository.list()
    assert (listed.id, listed.status, listed.assignee) == (case.id, CaseStatus.in_progress, "dana")
    assert isinstance(listed, Case)


def test_counts_by_status_name_every_status(repository, queue):
    assert repository.count_by_status() == {status: 0 for status in CaseStatus}
    first, _ = queue.open_case(anomaly("jobber:J-1"))
    queue.open_case(anomaly("jobber:J-2"))
    third, _ = queue.open_case(anomaly("jobber:J-3"))
    queue.assign(first.id, actor="lead", assignee="dana")
    queue.ignore(third.id, actor="dana", note="test job")
    assert repository.count_by_status() == {
        CaseStatus.open: 1,
        CaseStatus.in_progress: 1,
        CaseStatus.resolved: 0,
        CaseStatus.ignored: 1,
    }


def test_open_subjects_names_only_the_subjects_with_an_open_case_of_that_kind(repository, queue):
    queue.open_case(anomaly("jobber:J-1"))
    queue.open_case(anomaly("jobber:J-2", code=CaseKind.missing_mapping))
    closed, _ = queue.open_case(anomaly("jobber:J-3"))
    queue.resolve(closed.id, actor="dana", note="fixed")
    asked = ["jobber:J-1", "jobber:J-2", "jobber:J-3", "jobber:J-4"]
    assert repository.open_subjects(kind=CaseKind.rule_blocked, subjects=asked) == {"jobber:J-1"}
    assert repository.open_subjects(kind=CaseKind.rule_blocked, subjects=[]) == set()


def test_work_orders_with_cases_applies_the_kinds_and_statuses_asked(repository, queue):
    queue.open_case(anomaly("jobber:J-1"))
    queue.open_case(anomaly("jobber:J-2", code=CaseKind.ledger_rejected))
    closed, _ = queue.open_case(anomaly("jobber:J-3"))
    queue.resolve(closed.id, actor="dana", note="fixed")
    ids = ["jobber:J-1", "jobber:J-2", "jobber:J-3"]
    open_ = (CaseStatus.open, CaseStatus.in_progress)
    assert repository.work_orders_with_cases(ids, kinds=(CaseKind.rule_blocked,), statuses=open_) == {"jobber:J-1"}
    assert repository.work_orders_with_cases(ids, kinds=(CaseKind.rule_blocked,),
                                             statuses=(CaseStatus.resolved,)) == {"jobber:J-3"}
    assert repository.work_orders_with_cases(["jobber:J-9"], kinds=tuple(CaseKind), statuses=open_) == set()


class _Unstored:
    """A repository that keeps the cases ``CaseQueue.open_case`` builds without storing them (for ``add_many``)."""

    def __init__(self) -> None:
        self.cases: list[Case] = []

    def find_open(self, *, kind, subject):
        return None

    def add(self, case: Case) -> Case:
        self.cases.append(case)
        return case


def _built(clock, *anomalies: Anomaly) -> list[Case]:
    kept = _Unstored()
    for each in anomalies:
        CaseQueue(kept, clock=clock).open_case(each)
    return kept.cases


def test_cases_added_together_are_stored_as_one_by_one_with_ids_in_their_order(repository, queue, clock):
    first, _ = queue.open_case(anomaly("jobber:J-1"))
    built = _built(clock, anomaly("jobber:J-2"), anomaly("jobber:J-3", code=CaseKind.missing_mapping),
                   anomaly("jobber:J-4", evidence={"decisions": [{"rule": "R-1", "amount": "1.50"}]}))

    added = repository.add_many(built)

    assert [case.id for case in added] == sorted(case.id for case in added) and added[0].id > first.id
    assert len({first.id, *(case.id for case in added)}) == 4
    for case, given in zip(added, built, strict=True):
        assert case == given.model_copy(update={"id": case.id})
        assert repository.get(case.id) == case  # every field and the first history entry, read back
    assert repository.find_open(kind=CaseKind.missing_mapping, subject="jobber:J-3") == added[1]
    assert repository.open_subjects(kind=CaseKind.rule_blocked, subjects=["jobber:J-1", "jobber:J-2",
                                                                           "jobber:J-4"]) == {"jobber:J-1",
                                                                                              "jobber:J-2",
                                                                                              "jobber:J-4"}
    assert [case.id for case in repository.list()] == [added[2].id, added[1].id, added[0].id, first.id]


def test_adding_no_cases_together_stores_nothing(repository):
    assert repository.add_many([]) == [] and repository.list() == []
