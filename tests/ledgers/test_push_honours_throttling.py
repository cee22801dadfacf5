"""A throttled ledger is waited for, as long as it asks, and the push goes on; too many refusals hand back."""

from __future__ import annotations

import pytest
from ledger_backlog import REALM, TENANT, write_backlog

from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from closeout.wiring import open_app
from connectors.errors import RetriableError
from sandbox.qbo_store import QboStore
from sandbox.xero_store import XeroStore
from workorders.push import PushStatus

WAITS = {"qbo-co": 60.0, "xero-co": 2.0}  # Intuit: wait 60 s (no Retry-After); the Xero sandbox sends Retry-After: 2


@pytest.fixture
def backlog(workspace):
    workspace.mkdir(parents=True)
    config = write_backlog(workspace, per_company=4)
    with open_app(config_path=config) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="backlog").evaluated:
            pass
        yield app, workspace


def throttle(home, company_id: str, count: int) -> None:
    if company_id == "qbo-co":
        QboStore(home / "sandbox").add_fault(REALM, "throttle", count=count)
    else:
        XeroStore(home / "sandbox").add_fault(TENANT, "throttle", count=count)


@pytest.mark.parametrize("company_id", ["qbo-co", "xero-co"])
def test_a_throttled_push_waits_the_ledgers_retry_after_and_then_pushes_everything(backlog, company_id):
    app, home = backlog
    company = app.config.company(company_id)
    throttle(home, company_id, count=2)
    slept: list[float] = []
    step = push_batch(app, company, limit=10, sleep=slept.append)
    assert slept == [WAITS[company_id]] * 2
    assert step.pushed == 4


@pytest.mark.parametrize("company_id", ["qbo-co", "xero-co"])
def test_a_ledger_that_keeps_refusing_hands_the_batch_back_to_the_flow_with_nothing_lost(backlog, company_id):
    app, home = backlog
    company = app.config.company(company_id)
    throttle(home, company_id, count=4)
    slept: list[float] = []
    with pytest.raises(RetriableError) as caught:
        push_batch(app, company, limit=10, sleep=slept.append)
    assert caught.value.retry_after == WAITS[company_id] and len(slept) == 3
    with app.store.unit_of_work() as uow:
        records = [r for r in uow.push_records.all() if r.company == company_id]
    assert {r.status for r in records} == {PushStatus.ready}
    assert push_batch(app, company, limit=10, sleep=slept.append).pushed == 4
