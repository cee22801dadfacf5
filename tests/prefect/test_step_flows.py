"""The flows behind the per-step deployments, run one after another on the demo, do what the pipeline does."""

from __future__ import annotations

import pytest

from closeout.config import load_config

from services.config import ConfigError
from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from flows.operations import PushTarget, SourceTarget, prepare_drafts, pull_sources, push_ledger, reconcile_ledgers
from workorders.push import PushStatus

pytestmark = pytest.mark.e2e


def test_pull_prepare_push_per_company_and_reconcile_invoice_every_draft_and_name_their_runs(prefect_api, workspace):
    from prefect.client.orchestration import get_client

    config = str(install_demo_config(Settings().resolved_home()))
    companies = [company.id for company in load_config(install_demo_config(Settings().resolved_home())).companies]

    pulled = pull_sources(config_path=config)
    drafts = prepare_drafts(config_path=config)
    pushed = [push_ledger(target=PushTarget(company=company), config_path=config) for company in companies]
    again = push_ledger(config_path=config)
    reconciled = reconcile_ledgers(config_path=config)

    assert pulled.pulled >= 50 and drafts.drafts > 0
    assert sum(step.pushed for step in pushed) == drafts.drafts and again.pushed == 0
    assert reconciled["records_checked"] == drafts.drafts and reconciled["findings"] == 0
    assert sum(reconciled["retention"].values()) == 0  # the demo sets no retention_days: nothing is dropped
    with get_client(sync_client=True) as client:
        names = {run.name for run in client.read_flow_runs(limit=50)}
    assert {"pull every company", "prepare drafts", "reconcile every company"} <= names
    assert {f"push {company}" for company in companies} <= names


def test_a_run_for_a_company_or_source_not_in_the_config_fails_saying_which(prefect_api, workspace):
    config = str(install_demo_config(Settings().resolved_home()))
    with pytest.raises(ConfigError, match="no company 'nowhere'"):
        push_ledger(target=PushTarget(company="nowhere"), config_path=config)
    company = load_config(install_demo_config(Settings().resolved_home())).companies[0].id
    with pytest.raises(ConfigError, match="has no source 'fax'"):
        pull_sources(target=SourceTarget(company=company, source="fax"), config_path=config)


def test_a_push_run_keeping_several_batches_in_flight_invoices_every_draft_once(prefect_api, workspace):
    config = install_demo_config(Settings().resolved_home())
    company = load_config(config).companies[0].id
    pull_sources(config_path=str(config))
    prepare_drafts(config_path=str(config))
    with open_app(config_path=config) as app, app.store.unit_of_work() as uow:
        ready = sorted(r.doc_number for r in uow.push_records.all(status=PushStatus.ready) if r.company == company)

    pushed = push_ledger(target=PushTarget(company=company, in_flight=3), config_path=str(config))
    again = push_ledger(target=PushTarget(company=company, in_flight=3), config_path=str(config))

    with open_app(config_path=config) as app, app.store.unit_of_work() as uow:
        records = [r for r in uow.push_records.all() if r.company == company]
    assert pushed.pushed == len(ready) > 0 and again.pushed == 0
    assert sorted(r.doc_number for r in records if r.status is PushStatus.pushed) == ready  # each once
