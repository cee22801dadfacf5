"""Going live beside existing books on the demo: a dry run, a source start, a cutover, an adopted invoice, then real."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from closeout.settings import BUNDLED_DEMO_CONFIG, Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from services.push.pusher import invoice_payload
from workorders.decisions import Outcome
from workorders.push import PushStatus

pytestmark = pytest.mark.e2e

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))


@pytest.fixture
def dry_run_config(prefect_api, workspace, monkeypatch) -> Path:
    """The demo config in a dry run that adopts existing invoices, its CSV source starting on 3 November."""
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    config = install_demo_config(Settings().resolved_home())
    text = config.read_text(encoding="utf-8")
    ledger, source = 'create_customers = true\n', f'path = "{BUNDLED_DEMO_CONFIG.parent / "jobs"}"\n'
    assert ledger in text and source in text
    text = text.replace(ledger, ledger + "push = false\nadopt_existing = true\n", 1)
    config.write_text(text.replace(source, source + "start = 2026-11-03\n", 1), encoding="utf-8")
    return config


def closeout(*args: str) -> str:
    """A ``closeout`` command in a child process (Prefect's logging in this one would break later tests)."""
    done = subprocess.run([CLOSEOUT, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _northwind(app):
    return next(company for company in app.companies() if company.id == "northwind")


def _ledger_docs(app) -> Counter:
    company = _northwind(app)
    return Counter(invoice.doc_number for invoice in app.ledger_for(company).list_invoices())


def _latest_decision(uow, work_order_id: str):
    return [d for d in uow.decisions.for_work_order(work_order_id) if d.rule_id == "invoiced_elsewhere"][-1]


def test_a_dry_run_a_start_and_a_cutover_keep_old_jobs_out_and_a_hand_made_invoice_is_adopted_not_doubled(
        dry_run_config):
    config = str(dry_run_config)
    summary = closeout("run", "--config", config)
    assert "dry run (push = false): invoices held back" in summary and "would have invoiced in USD" in summary
    with open_app(config_path=dry_run_config) as app, app.store.unit_of_work() as uow:
        assert _ledger_docs(app) == Counter()  # a dry run writes nothing to the ledger
        ready = [r for r in uow.push_records.all(status=PushStatus.ready) if r.company == "northwind"]
        orders = {order.id: order for order in uow.work_orders.latest(company="northwind")}
        before_start = [o for o in orders.values() if o.updated_at.date().isoformat() < "2026-11-03"]
        assert before_start, "the demo has jobs last changed before the source's start"
        for order in before_start:
            decision = _latest_decision(uow, order.id)
            assert decision.outcome is Outcome.no_invoice and "before csv's start of 2026-11-03" in decision.reason
        assert not {r.work_order_id for r in ready} & {o.id for o in before_start}
    preview = closeout("preview", "--config", config)
    assert "prepared, waiting to push" in preview

    cutover = closeout("cutover", "--company", "northwind", "--invoiced-before", "2026-11-05", "--config", config)
    assert "were invoiced elsewhere" in cutover and "now get no invoice" in cutover
    with open_app(config_path=dry_run_config) as app, app.store.unit_of_work() as uow:
        company = _northwind(app)
        records = {r.work_order_id: r for r in uow.push_records.all() if r.company == "northwind"}
        elsewhere = [r for r in ready if records[r.work_order_id].status is PushStatus.superseded]
        assert elsewhere, "drafts of jobs completed before the cutover were withdrawn"
        for record in elsewhere:
            decision = _latest_decision(uow, record.work_order_id)
            assert decision.outcome is Outcome.no_invoice and "before the cutover of 2026-11-05" in decision.reason
        still = sorted((r for r in records.values() if r.status is PushStatus.ready), key=lambda r: r.doc_number)
        assert still, "jobs after the cutover keep their drafts"
        by_hand = still[0]
        customer = app.ledger_for(company).find_customers(name=by_hand.draft.customer_name,
                                                          email=by_hand.draft.customer_email)
        if not customer:
            customer = [app.ledger_for(company).create_customer(name=by_hand.draft.customer_name,
                                                                email=by_hand.draft.customer_email, addresses={})]
        app.ledger_for(company).create_invoice(invoice_payload(company, by_hand, customer[0]),
                                               idempotency_key="made-by-hand-before-closeout")

    dry_run_config.write_text(dry_run_config.read_text(encoding="utf-8").replace("push = false\n", ""),
                              encoding="utf-8")
    closeout("run", "--config", config)
    with open_app(config_path=dry_run_config) as app, app.store.unit_of_work() as uow:
        docs = _ledger_docs(app)
        assert docs[by_hand.doc_number] == 1  # adopted, not invoiced a second time
        assert uow.push_records.get(by_hand.idempotency_key).status is PushStatus.pushed
        assert all(docs[r.doc_number] == 0 for r in elsewhere)
        assert all(docs[r.doc_number] == 1 for r in still)
    closeout("audit", "--config", config)
