"""A whole backlog goes out in full batches from several workers, each draft once, even when a request fails."""

from __future__ import annotations

import httpx
import pytest
from ledger_backlog import REALM, TENANT, write_backlog

from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.backlog import push_backlog
from closeout.wiring import open_app
from connectors.errors import UncertainOutcomeError
from workorders.push import PushStatus


def stats(app, company_id: str) -> dict:
    path = f"xero/{TENANT}" if company_id == "xero-co" else f"qbo/{REALM}"
    return httpx.get(f"{app.sandbox_url}/_sandbox/{path}/stats", trust_env=False).json()


def prepared(app, company):
    for source in company.sources:
        pull_source(app, company, source)
    while prepare_batch(app, run_id="backlog").evaluated:
        pass


@pytest.mark.parametrize("company_id", ["qbo-co", "xero-co"])
def test_a_backlog_is_pushed_in_full_batches_by_several_workers_each_draft_once(workspace, company_id):
    workspace.mkdir(parents=True)
    config = write_backlog(workspace, per_company=130)
    with open_app(config_path=config) as app:
        company = app.config.company(company_id)
        prepared(app, company)
        before = stats(app, company_id)["requests"]

        counts = push_backlog(app, company)

        after = stats(app, company_id)
        with app.store.unit_of_work() as uow:
            statuses = {r.status for r in uow.push_records.all() if r.company == company_id}
    assert counts.pushed == 130 and statuses == {PushStatus.pushed} and after["invoices"] == 130
    creates = 5 if company_id == "qbo-co" else 3  # batches of 30 or 50
    # 12 new customers, each once: by email, by name, created (too few for reading the whole customer list)
    assert after["requests"] - before == creates + 3 * 12


def test_a_failed_request_stops_the_backlog_and_the_next_run_looks_up_before_it_resends(workspace):
    workspace.mkdir(parents=True)
    config = write_backlog(workspace, per_company=100)
    with open_app(config_path=config) as app:  # the backlog's customers are in the ledger and in the mapping
        ids = [httpx.post(f"{app.sandbox_url}/v3/company/{REALM}/customer", headers={"Authorization": "Bearer t"},
                          json={"DisplayName": f"Q Customer {n}"}, trust_env=False).json()["Customer"]["Id"]
               for n in range(12)]
    mapping = ", ".join(f'"QC{n}" = "{ident}"' for n, ident in enumerate(ids))
    prefix = 'doc_number_prefix = "Q-"'
    config.write_text(config.read_text().replace(prefix, f"{prefix}\ncustomers = {{ {mapping} }}"))
    with open_app(config_path=config) as app:
        company = app.config.company("qbo-co")
        prepared(app, company)
        httpx.post(f"{app.sandbox_url}/_sandbox/qbo/{REALM}/faults", json={"kind": "lost_response", "count": 1},
                   trust_env=False).raise_for_status()  # the first batch lands, its answer never comes

        with pytest.raises(UncertainOutcomeError):
            push_backlog(app, company, workers=1)
        with app.store.unit_of_work() as uow:
            left = [r.status for r in uow.push_records.all() if r.company == "qbo-co"]
        again = push_backlog(app, company)

        after = stats(app, "qbo-co")
        with app.store.unit_of_work() as uow:
            statuses = {r.status for r in uow.push_records.all() if r.company == "qbo-co"}
    assert left.count(PushStatus.uncertain) == 30 and left.count(PushStatus.ready) == 70  # the lost batch, the rest
    assert statuses == {PushStatus.pushed} and after["invoices"] == 100 and not after["duplicate_doc_numbers"]
    assert again.pushed == 100  # 30 found by their doc numbers, 70 sent
