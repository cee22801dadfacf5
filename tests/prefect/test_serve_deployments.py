"""`closeout serve`'s deployments are prefect.yaml's, and a served pipeline runs when its schedule comes due."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
import yaml

from closeout.settings import Settings
from closeout.workspace import install_demo_config
from closeout.orchestration.deployments import PREFECT_YAML, build_runner_deployments, read_deployment_specs

pytestmark = pytest.mark.e2e
EXPECTED = {"pipeline", "pull-sources", "ingest-mail", "prepare-drafts", "push-invoices", "reconcile-nightly", "health", "webhooks"}


def test_closeout_serve_builds_every_deployment_of_prefect_yaml_with_its_schedules_tags_and_parameter_forms():
    document = yaml.safe_load(PREFECT_YAML.read_text())
    served = {deployment.name: deployment for deployment in build_runner_deployments()}

    assert {entry["name"] for entry in document["deployments"]} == EXPECTED == set(served)
    assert {entry["work_pool"]["name"] for entry in document["deployments"]} == {"closeout-process"}
    assert document["pull"][0]["prefect.deployments.steps.set_working_directory"]
    for entry in document["deployments"]:
        deployment = served[entry["name"]]
        assert set(deployment.tags) == set(entry["tags"])
        assert len(deployment.schedules) == len(entry.get("schedules") or [])
    every = {name: [s.schedule for s in served[name].schedules] for name in ("pipeline", "ingest-mail")}
    assert every["pipeline"][0].interval == timedelta(minutes=15)
    assert every["ingest-mail"][0].interval == timedelta(minutes=5)
    assert served["reconcile-nightly"].schedules[0].schedule.cron == "30 2 * * *"
    assert served["health"].schedules[0].schedule.cron == "0 * * * *"
    push_form = served["push-invoices"]._parameter_openapi_schema.model_dump()
    assert "company" in str(push_form["definitions"]) and "max_batches" in str(push_form["definitions"])


def _serve_in_thread(deployments):
    """What `closeout serve` does (prefect.serve: one Runner, every deployment), in a thread the test can stop."""
    from prefect.runner import Runner

    runner = Runner(limit=2, pause_on_shutdown=False, query_seconds=1)
    state: dict = {}

    def run() -> None:
        async def main() -> None:
            state["loop"] = asyncio.get_running_loop()
            state["ids"] = [await runner.aadd_deployment(deployment) for deployment in deployments]
            await runner.start()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return runner, thread, state


def test_a_served_pipeline_fires_on_its_schedule_and_completes(prefect_api, workspace, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    config = install_demo_config(Settings().resolved_home())
    monkeypatch.setenv("CLOSEOUT_CONFIG", str(config))  # the served runs are child processes
    pipeline = [spec for spec in read_deployment_specs() if spec.name == "pipeline"]
    runner, thread, state = _serve_in_thread(build_runner_deployments(pipeline, interval_override=timedelta(seconds=3)))
    try:
        deadline = time.monotonic() + 60
        while "ids" not in state:
            assert thread.is_alive() and time.monotonic() < deadline, "the runner did not register the deployment"
            time.sleep(0.2)
        (deployment_id,) = state["ids"]
        with get_client(sync_client=True) as client:
            # The harness runs no scheduler service: ask the server to do what its scheduler does every minute.
            client.request("POST", f"/deployments/{deployment_id}/schedule", json={"min_runs": 1, "max_runs": 2})
            deadline = time.monotonic() + 180
            while True:
                runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))
                if any(run.state and run.state.is_completed() for run in runs):
                    break
                assert not any(run.state and run.state.is_final() and not run.state.is_completed() for run in runs), \
                    [(run.name, run.state) for run in runs]
                assert time.monotonic() < deadline, [(run.name, run.state) for run in runs]
                time.sleep(1)
        completed = [run for run in runs if run.state.is_completed()]
        assert completed[0].auto_scheduled and completed[0].tags and "pipeline" in completed[0].tags
    finally:
        state["loop"].call_soon_threadsafe(lambda: asyncio.ensure_future(runner.astop()))
        thread.join(timeout=30)
