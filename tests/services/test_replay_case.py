"""Replaying one case on fakes: its version judged again with today's mappings, and pushed only once."""

from __future__ import annotations

from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.service import CaseQueue
from services.intake import pull_source
from services.prepare import prepare_batch
from services.replay_case import replay_case
from tests.fakes import csv_job
from workorders.push import PushStatus

PUMP = dict(line_kind="part", item_code="PUMP-9", description="Circulator pump", unit_price="240.00",
            unit_cost="120.00")


def case_of(app, kind: CaseKind):
    with app.store.read() as uow:
        [case] = uow.cases.list(kinds=(kind,))
    return case


def pulled_and_prepared(app, company, feed, job) -> None:
    feed([job])
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")


def test_a_missing_mapping_case_replayed_after_the_mapping_was_added_is_pushed_and_resolved(app, company, feed):
    pulled_and_prepared(app, company, feed, csv_job("J1", "1001", **PUMP))
    case = case_of(app, CaseKind.missing_mapping)
    with app.store.unit_of_work() as uow:
        uow.mapping_overrides.put(company="acme", table="items", key="PUMP-9", value="2", actor="dana")
        uow.commit()

    result = replay_case(app, case.id, actor="dana")

    assert result.outcome == "pushed" and result.resolved
    ledger = app.ledger_for(company)
    [invoice] = ledger.invoices.values()
    assert invoice.ledger_id == result.ledger_id and invoice.total == 240
    with app.store.read() as uow:
        stored = uow.cases.get(case.id)
        assert stored.status is CaseStatus.resolved
        assert [e.action for e in stored.history][-2:] == ["replayed", "auto_resolved"]


def test_a_case_replayed_without_a_fix_stays_open_and_says_why(app, company, feed):
    pulled_and_prepared(app, company, feed, csv_job("J1", "1001", signed_by="", signed_at=""))
    case = case_of(app, CaseKind.rule_blocked)

    result = replay_case(app, case.id, actor="dana")

    assert result.outcome == "still_blocked" and not result.resolved
    assert app.ledger_for(company).invoices == {}
    with app.store.read() as uow:
        assert uow.cases.get(case.id).is_open


def test_replaying_a_case_whose_version_was_already_invoiced_sends_nothing_again(app, company, feed):
    pulled_and_prepared(app, company, feed, csv_job("J1", "1001", **PUMP))
    case = case_of(app, CaseKind.missing_mapping)
    with app.store.unit_of_work() as uow:
        uow.mapping_overrides.put(company="acme", table="items", key="PUMP-9", value="2", actor="dana")
        uow.commit()
    replay_case(app, case.id, actor="dana")
    with app.store.unit_of_work() as uow:
        CaseQueue(uow.cases, clock=uow.clock).reopen(case.id, actor="dana", note="check it again")
        uow.commit()

    again = replay_case(app, case.id, actor="dana")

    assert again.outcome == "already_invoiced"
    assert len(app.ledger_for(company).invoices) == 1
    with app.store.read() as uow:
        assert [r.status for r in uow.push_records.all()] == [PushStatus.pushed]


def test_explain_shows_each_version_judged_once_by_its_latest_evaluation_and_the_override_that_let_it_through(
        app, company, feed):
    from services.explain import explain_work_order
    from workorders.decisions import Outcome

    pulled_and_prepared(app, company, feed, csv_job("J1", "1001", signed_by="", signed_at=""))
    case = case_of(app, CaseKind.rule_blocked)
    assert replay_case(app, case.id, actor="dana").outcome == "still_blocked"
    with app.store.unit_of_work() as uow:
        CaseQueue(uow.cases).approve_override(case.id, actor="dana", reason="customer signed on paper, scan filed")
        uow.commit()
    assert replay_case(app, case.id, actor="dana").outcome == "pushed"

    with app.store.read() as uow:
        found = explain_work_order(uow, "1001")
    rules = [d.rule_id for d in found.decisions[1]]
    assert len(rules) == len(set(rules))  # one evaluation, each rule once
    assert [len(run) for run in found.earlier[1]] == [len(rules), len(rules)]
    (override,) = found.overrides
    assert (override.case_id, override.actor, override.reason) == (case.id, "dana", "customer signed on paper, scan filed")
    (blocked,) = [d for d in found.decisions[1] if d.outcome is Outcome.block]
    assert found.override_of(1, blocked.rule_id) == override
    assert blocked.rule_id in override.rules
    assert found.as_dict()["overrides"][0]["reason"] == "customer signed on paper, scan filed"
