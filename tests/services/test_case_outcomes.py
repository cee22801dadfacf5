"""Resolving a case about a blocked job on fakes: the person says what becomes of the job (invoice it anyway, bill
nothing, wait for the source), the job keeps that outcome, and a resolve that says nothing is refused."""

from __future__ import annotations

import pytest

from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import OUTCOME_NAMES, CaseFilters, DecisionError
from exceptions_queue.users import Role, User
from services.audit import run_audit
from services.casework import StoreDesk
from services.explain import explain_work_order
from services.intake import pull_source
from services.outcomes import WAITING_TAG
from services.prepare import prepare_batch
from services.push.batch import push_batch
from tests.fakes import csv_job
from workorders.push import PushStatus

DANA = User(username="dana", role=Role.coordinator)
UNNOTED = dict(notes="")  # completed without a job note: job_note_present blocks it


@pytest.fixture
def desk(app, company, feed) -> StoreDesk:
    feed([csv_job("J1", "1001", **UNNOTED)])
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    return StoreDesk(app)


def blocked_case(desk: StoreDesk):
    (case,) = desk.list_cases(CaseFilters(kinds=(CaseKind.rule_blocked,)))
    return case


def next_run(app, company, feed=None, *jobs) -> None:
    """What a pipeline run does to the store: pull (when the source has something new), prepare, push."""
    if feed is not None:
        feed(list(jobs), name="later")
        pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-2")
    while (step := push_batch(app, company, limit=30)).pushed + step.rejected + step.uncertain:
        pass


def test_a_plain_resolve_of_a_blocked_jobs_case_is_refused_naming_the_three_outcomes(desk):
    case = blocked_case(desk)

    with pytest.raises(DecisionError) as refused:
        desk.decide(case.id, "resolve", actor=DANA, fields={"note": "called the tech"})

    assert all(name in str(refused.value) for name in OUTCOME_NAMES)
    assert "\n" not in str(refused.value)
    after = desk.context(case.id)
    assert after.case.is_open and [e.action for e in after.case.history] == ["opened"]
    assert after.outcomes == OUTCOME_NAMES


def test_ignoring_a_blocked_jobs_case_is_refused_like_a_plain_resolve(desk):
    case = blocked_case(desk)

    with pytest.raises(DecisionError) as refused:
        desk.decide(case.id, "ignore", actor=DANA, fields={"note": "noise"})

    assert all(name in str(refused.value) for name in OUTCOME_NAMES)
    assert desk.context(case.id).case.is_open


def test_an_outcome_needs_a_known_name_and_a_reason(desk):
    case = blocked_case(desk)

    with pytest.raises(DecisionError, match="unknown outcome 'later'"):
        desk.decide(case.id, "resolve", actor=DANA, fields={"outcome": "later", "note": "x"})
    with pytest.raises(DecisionError, match="needs a reason"):
        desk.decide(case.id, "resolve", actor=DANA, fields={"outcome": "bill_nothing", "note": "  "})

    assert desk.context(case.id).case.is_open


def test_bill_nothing_logs_a_no_invoice_decision_explain_says_not_billed_and_the_audit_accounts_for_it(
        app, company, feed, desk):
    case = blocked_case(desk)

    done = desk.decide(case.id, "resolve", actor=DANA,
                       fields={"outcome": "bill_nothing", "note": "warranty callback, no charge"})
    next_run(app, company)

    assert done.status is CaseStatus.resolved
    assert app.ledger_for(company).invoices == {}
    with app.store.read() as uow:
        found = explain_work_order(uow, "1001")
        assert uow.push_records.for_work_order("csv:J1") == []
    assert found.ending().startswith("not billed: warranty callback, no charge (dana")
    (outcome,) = found.outcomes
    assert (outcome.outcome, outcome.actor, outcome.reason, outcome.case_id) == (
        "bill_nothing", "dana", "warranty callback, no charge", case.id)
    assert "bill_nothing" not in {d.rule_id for d in found.decisions[1]}  # the outcome, not a rule's evaluation
    report = run_audit(app)
    assert report.every_job_accounted_for and report.accounted["no_invoice"] == 1
    assert [e.action for e in desk.audit_trail()] == ["bill_nothing"]


def test_invoice_anyway_records_the_override_and_the_next_run_invoices_the_job_once(app, company, feed, desk):
    case = blocked_case(desk)

    done = desk.decide(case.id, "resolve", actor=DANA,
                       fields={"outcome": "invoice_anyway", "note": "the note is on the paper sheet"})

    assert done.status is CaseStatus.resolved
    assert [e.action for e in done.history] == ["opened", "override_approved", "outcome_decided", "resolved"]
    assert app.ledger_for(company).invoices == {}  # the decision talks to no ledger: the run does
    next_run(app, company)
    next_run(app, company)

    (invoice,) = app.ledger_for(company).invoices.values()
    assert invoice.doc_number == "AC-1001"
    with app.store.read() as uow:
        found = explain_work_order(uow, "1001")
        assert [r.status for r in uow.push_records.for_work_order("csv:J1")] == [PushStatus.pushed]
    assert "pushed" in found.ending()
    (override,) = found.overrides
    assert (override.actor, override.reason) == ("dana", "the note is on the paper sheet")
    assert [(o.outcome, o.actor) for o in found.outcomes] == [("invoice_anyway", "dana")]
    assert run_audit(app).ok


def test_wait_keeps_the_case_open_and_a_new_version_from_the_source_is_judged_again_and_clears_it(
        app, company, feed, desk):
    case = blocked_case(desk)

    waiting = desk.decide(case.id, "resolve", actor=DANA,
                          fields={"outcome": "wait", "note": "the tech adds the note in the FSM tonight"})

    assert waiting.is_open and WAITING_TAG in waiting.tags
    with app.store.read() as uow:
        assert "waiting for the source: the tech adds the note" in explain_work_order(uow, "1001").ending()
    next_run(app, company, feed, csv_job("J1", "1001", notes="Replaced the flame sensor.",
                                         updated_at="2026-11-16T18:00:00-06:00"))

    with app.store.read() as uow:
        cleared = uow.cases.get(case.id)
        found = explain_work_order(uow, "1001")
    assert cleared.status is CaseStatus.resolved and cleared.history[-1].action == "auto_resolved"
    assert [v.version for v in found.versions] == [1, 2] and 2 in found.decisions
    assert len(app.ledger_for(company).invoices) == 1
    (outcome,) = found.outcomes
    assert outcome.outcome == "wait" and not outcome.standing


def test_an_outcome_is_refused_on_a_case_that_is_not_about_a_blocked_job(app, company, feed):
    feed([csv_job("J2", "1002", line_kind="part", item_code="PUMP-9", description="Pump", unit_price="240.00")])
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    desk = StoreDesk(app)
    (case,) = desk.list_cases(CaseFilters(kinds=(CaseKind.missing_mapping,)))

    with pytest.raises(DecisionError, match="not about a blocked job"):
        desk.decide(case.id, "resolve", actor=DANA, fields={"outcome": "bill_nothing", "note": "x"})
    resolved = desk.decide(case.id, "resolve", actor=DANA, fields={"note": "mapped by hand"})

    assert resolved.status is CaseStatus.resolved
    assert desk.context(case.id).outcomes == ()
