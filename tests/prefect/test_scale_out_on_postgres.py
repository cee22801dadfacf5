"""Scale-out: a real Prefect server on PostgreSQL, the push deployment from prefect.yaml, two process workers.

One backlog of 500 ready drafts (two companies, one per ledger) on a PostgreSQL store, pushed by four flow
runs split across two workers, against one shared sandbox that enforces the ledgers' rate limits (time
scale 10) and counts what it received. Every invoice is created once, the sandbox never had to refuse a
call (the global concurrency limits held across the workers), and each run's artifacts are in Prefect.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from closeout.orchestration.prefect_server import running_prefect_server
from services.intake import pull_source
from services.prepare import prepare_batch
from closeout.wiring import open_app
from closeout.orchestration.deployments import REPO
from sandbox.server import running_sandbox
from workorders.push import PushStatus

sys.path.insert(0, str(Path(__file__).parents[1] / "ledgers"))
from ledger_backlog import REALM, TENANT, write_backlog  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]
PER_COMPANY = 250
TIME_SCALE = 5  # a ledger "minute" lasts 12 s: Xero's 60/min binds within the test
RUNS_PER_COMPANY = 2
PREFECT = str(Path(sys.executable).with_name("prefect"))


def _build_backlog(config: Path) -> int:
    with open_app(config_path=config) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="backlog").evaluated:
            pass
        with app.store.unit_of_work() as uow:
            return len(uow.push_records.all(status=PushStatus.ready))


def _start_workers(env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    workers = []
    for name in ("worker-a", "worker-b"):
        with (logs / f"{name}.log").open("wb") as log:
            workers.append(subprocess.Popen(
                [PREFECT, "worker", "start", "--pool", "closeout-process", "--type", "process", "--name", name,
                 "--limit", str(RUNS_PER_COMPANY)], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
    return workers


def _wait_for_runs(client, run_ids, workers, timeout: float = 240.0):
    deadline = time.monotonic() + timeout
    while True:
        runs = [client.read_flow_run(run_id) for run_id in run_ids]
        if all(run.state and run.state.is_final() for run in runs):
            return runs
        assert all(worker.poll() is None for worker in workers), "a worker died"
        assert time.monotonic() < deadline, [(run.name, run.state_name) for run in runs]
        time.sleep(1)


@pytest.mark.timeout(900)  # a Prefect server, two workers and 500 pushes: a busy machine needs more than 300 s
def test_two_workers_push_a_500_draft_backlog_from_prefect_yaml_once_each_within_the_global_rate_limits(
        workspace, store_schema, prefect_database, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    workspace.mkdir(parents=True)
    config = write_backlog(workspace, per_company=PER_COMPANY)
    with running_sandbox(workspace / "sandbox") as sandbox_url:
        monkeypatch.setenv("CLOSEOUT_DATABASE_URL", store_schema)
        monkeypatch.setenv("CLOSEOUT_CONFIG", str(config))
        monkeypatch.setenv("CLOSEOUT_SANDBOX_URL", sandbox_url)  # one sandbox counts every worker's calls
        monkeypatch.setenv("CLOSEOUT_LEDGER_TIME_SCALE", str(TIME_SCALE))
        assert _build_backlog(config) == 2 * PER_COMPANY
        httpx.post(f"{sandbox_url}/_sandbox/limits", json={"enabled": True, "time_scale": TIME_SCALE}).raise_for_status()

        with running_prefect_server(workspace, database_url=prefect_database, log=workspace / "server.log") as server:
            env = {**os.environ, "PREFECT_API_URL": server.api_url, "PWD": str(REPO),
                   "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
            subprocess.run([PREFECT, "work-pool", "create", "closeout-process", "--type", "process"], env=env,
                           cwd=REPO, check=True, capture_output=True)
            workers = _start_workers(env, workspace)  # they start up while the deployment is made
            try:
                deployed = subprocess.run([PREFECT, "--no-prompt", "deploy", "--name", "push-invoices"], env=env,
                                          cwd=REPO, capture_output=True, text=True)
                assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
                with temporary_settings({PREFECT_API_URL: server.api_url}), get_client(sync_client=True) as client:
                    run_ids = [run_deployment("push-ledger/push-invoices", timeout=0,
                                              parameters={"target": {"company": company}}).id
                               for company in ("qbo-co", "xero-co") for _ in range(RUNS_PER_COMPANY)]
                    runs = _wait_for_runs(client, run_ids, workers)
                    artifacts = client.read_artifacts(
                        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=run_ids)))
                    limits = {limit.name: limit for limit in client.read_global_concurrency_limits(limit=100)}
            finally:
                for worker in workers:
                    worker.terminate()
                for worker in workers:  # a busy machine may take a while to stop a worker and its flow runs
                    try:
                        worker.wait(timeout=120)
                    except subprocess.TimeoutExpired:
                        worker.kill()
                        worker.wait()
        counted = httpx.get(f"{sandbox_url}/_sandbox/limits").json()

        with open_app(config_path=config) as app:
            with app.store.unit_of_work() as uow:
                records = uow.push_records.all()
            docs = Counter(invoice.doc_number for company in app.companies()
                           for invoice in app.ledger_for(company).list_invoices())

    assert [run.state_name for run in runs] == ["Completed"] * len(run_ids)
    logs = {name: (workspace / f"{name}.log").read_text(errors="replace") for name in ("worker-a", "worker-b")}
    assert all(any(str(run_id) in log for run_id in run_ids) for log in logs.values()), "one worker ran everything"
    # every invoice created once, each draft claimed once
    assert len(records) == 2 * PER_COMPANY and all(record.status is PushStatus.pushed for record in records)
    assert all(record.attempts == 1 for record in records)
    assert len(docs) == len(records) and max(docs.values()) == 1
    # the global limits held: the sandbox enforced both ledgers' limits and never had to refuse a call
    assert counted["enabled"] and counted["refused"] == []
    peaks = {row["system"]: row["peak_in_flight"] for row in counted["accepted"]}
    assert peaks["qbo"] <= 10 and peaks["xero"] <= 5
    assert {f"closeout-qbo-{REALM}-rate", f"tag:closeout-qbo-{REALM}-concurrent", f"closeout-qbo-{REALM}-batch",
            f"closeout-xero-{TENANT}-rate".lower(), f"tag:closeout-xero-{TENANT}-concurrent".lower()} <= set(limits)
    # each run published its summary; together they account for every invoice
    summaries = [a for a in artifacts if a.key == "closeout-run-summary"]
    assert {a.flow_run_id for a in summaries} == set(run_ids)
    pushed = sum(int(row["value"]) for a in summaries for row in _rows(a.data) if row["measure"] == "invoices pushed")
    assert pushed == 2 * PER_COMPANY


def _rows(data):
    import json

    return json.loads(data) if isinstance(data, str) else data
