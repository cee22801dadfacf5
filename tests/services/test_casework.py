"""Casework on fakes: a person's decision on a case is checked, recorded, audited, and replays what it fixes."""

from __future__ import annotations

import pytest

from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import CaseFilters
from exceptions_queue.users import Role, User
from services.casework import StoreDesk
from services.intake import pull_source
from services.prepare import prepare_batch
from tests.fakes import csv_job

DANA = User(username="dana", role=Role.coordinator)
VIC = User(username="vic", role=Role.viewer)


def part(code: str) -> dict[str, str]:
    """A job's one line as a part the company's tables do not map."""
    return dict(line_kind="part", item_code=code, description=f"Part {code}", unit_price="240.00", unit_cost="120.00")


@pytest.fixture
def desk(app, company, feed) -> StoreDesk:
    feed([csv_job("J1", "1001", **part("PUMP-9")),
          csv_job("J2", "1002", customer_name="Harbor Foods", customer_email="ap@harbor.example",
                  **part("PUMP-9"))])
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    return StoreDesk(app)


def test_adding_the_missing_mapping_pushes_the_case_and_every_other_case_it_clears(app, company, desk):
    first, _ = desk.list_cases(CaseFilters(kinds=(CaseKind.missing_mapping,)))

    desk.add_mapping(first.id, actor=DANA, table="items", key="PUMP-9", value="2")

    assert desk.list_cases(CaseFilters(kinds=(CaseKind.missing_mapping,))) == []
    assert sorted(i.doc_number for i in app.ledger_for(company).invoices.values()) == ["AC-1001", "AC-1002"]
    [entry] = [e for e in desk.audit_trail() if e.action == "mapping_added"]
    assert entry.actor == "dana" and entry.subject == "acme/items/PUMP-9"


def test_a_viewer_cannot_take_a_decision_and_nothing_changes(desk):
    case = desk.list_cases(CaseFilters())[0]

    with pytest.raises(PermissionError):
        desk.decide(case.id, "resolve", actor=VIC, fields={"note": "done"})

    assert desk.context(case.id).case.status is CaseStatus.open


def test_an_ignored_case_leaves_the_open_count_and_keeps_who_ignored_it(desk):
    case = desk.list_cases(CaseFilters())[0]

    desk.decide(case.id, "ignore", actor=DANA, fields={"note": "billed by hand"})

    counts = desk.count_open()
    assert counts["status"]["ignored"] == 1 and counts["status"]["open"] == 1
    history = desk.context(case.id).case.history
    assert history[-1].actor == "dana" and history[-1].note == "billed by hand"
