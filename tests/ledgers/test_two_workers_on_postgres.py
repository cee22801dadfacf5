"""Two push workers, each its own process and store connection, on one PostgreSQL backlog: each invoice once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from ledger_backlog import write_backlog

from services.audit import run_audit
from services.intake import pull_source
from services.prepare import prepare_batch
from closeout.wiring import open_app
from workorders.push import PushStatus

WORKER = Path(__file__).with_name("ledger_push_worker.py")
PER_COMPANY = 60


def test_two_workers_pushing_one_backlog_on_postgresql_claim_and_create_each_invoice_once(workspace, postgres_url,
                                                                                           monkeypatch):
    monkeypatch.setenv("CLOSEOUT_DATABASE_URL", postgres_url)
    workspace.mkdir(parents=True)
    config = write_backlog(workspace, per_company=PER_COMPANY)
    with open_app(config_path=config) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="backlog").evaluated:
            pass

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), str(WORKER.parent)])}
    workers = [subprocess.Popen([sys.executable, str(WORKER), str(config), "600"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=180) == 0, worker.stderr.read().decode()[-2000:]

    with open_app(config_path=config) as app:
        report = run_audit(app)
        with app.store.unit_of_work() as uow:
            records = uow.push_records.all()
        docs = Counter(invoice.doc_number for company in app.companies()
                       for invoice in app.ledger_for(company).list_invoices())
    assert len(records) == 2 * PER_COMPANY
    assert all(record.status is PushStatus.pushed for record in records)
    assert all(record.attempts == 1 for record in records)  # no record was ever claimed by both workers
    assert len(docs) == len(records) and max(docs.values()) == 1
    assert report.duplicates_in_ledger == [] and report.pending == [] and report.unaccounted == []
