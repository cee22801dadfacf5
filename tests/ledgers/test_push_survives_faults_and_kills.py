"""Exactly once under fire: faults injected into both ledgers, the push worker killed twice, then the audit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from ledger_backlog import REALM, TENANT, write_backlog

from services.audit import run_audit
from closeout.settings import Settings
from services.intake import pull_source
from services.prepare import prepare_batch
from closeout.wiring import open_app
from sandbox.qbo_store import QboStore
from sandbox.xero_store import XeroStore
from storage import open_store
from workorders.push import PushStatus

WORKER = Path(__file__).with_name("ledger_push_worker.py")
PER_COMPANY = 500
FAULTS = ("throttle", "server_error", "slow", "reset", "lost_response")


def prepare_backlog(config: Path) -> int:
    with open_app(config_path=config) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="backlog").evaluated:
            pass
        with app.store.unit_of_work() as uow:
            return len(uow.push_records.all(status=PushStatus.ready))


def pushed_count() -> int:
    store = open_store(Settings().store_url())
    try:
        with store.unit_of_work() as uow:
            return len(uow.push_records.all(status=PushStatus.pushed))
    finally:
        store.close()


def set_chaos(home: Path, rate: float) -> None:
    QboStore(home / "sandbox").set_chaos(REALM, rate=rate, kinds=FAULTS, seconds=0.02)
    XeroStore(home / "sandbox").set_chaos(TENANT, rate=rate, kinds=FAULTS, seconds=0.02)


def start_worker(config: Path, stale_seconds: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), str(WORKER.parent)])}
    return subprocess.Popen([sys.executable, str(WORKER), str(config), str(stale_seconds)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_when_pushed(worker: subprocess.Popen, config: Path, at_least: int) -> None:
    while pushed_count() < at_least:
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()


def test_faults_and_two_kills_mid_push_leave_no_duplicate_and_every_draft_pushed_or_in_a_case(workspace):
    workspace.mkdir(parents=True)
    config = write_backlog(workspace, per_company=PER_COMPANY)
    drafts = prepare_backlog(config)
    assert drafts == 2 * PER_COMPANY
    set_chaos(workspace, rate=0.04)

    first = start_worker(config, stale_seconds=600)
    kill_when_pushed(first, config, at_least=drafts // 3)
    second = start_worker(config, stale_seconds=0)  # the first is dead: its "pushing" rows are stale now
    kill_when_pushed(second, config, at_least=2 * drafts // 3)
    last = start_worker(config, stale_seconds=0)
    assert last.wait(timeout=180) == 0, last.stderr.read().decode()[-2000:]
    set_chaos(workspace, rate=0.0)

    assert first.returncode == second.returncode == -signal.SIGKILL
    with open_app(config_path=config) as app:
        report = run_audit(app)
        with app.store.unit_of_work() as uow:
            records = uow.push_records.all()
            statuses = Counter(record.status for record in records)
        ledger_docs = {company.id: Counter(i.doc_number for i in app.ledger_for(company).list_invoices())
                       for company in app.companies()}
    assert report.duplicates_in_ledger == [] and report.missing_in_ledger == []
    assert report.pending == [] and report.unaccounted == []
    assert statuses[PushStatus.pushed] + statuses[PushStatus.rejected] == drafts
    assert any(record.attempts > 1 for record in records)  # faults and kills did make pushes go round again
    assert report.accounted["invoice"] == statuses[PushStatus.pushed]
    for company, docs in ledger_docs.items():
        assert max(docs.values()) == 1, company
    assert sum(len(docs) for docs in ledger_docs.values()) == statuses[PushStatus.pushed]
