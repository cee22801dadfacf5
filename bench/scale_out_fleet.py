"""The scale-out scenario's Prefect side: the campaign's fleet, running prefect.yaml's push deployment instead.

``reliability.prefect_fleet.PrefectFleet`` starts a Prefect server, deploys from prefect.yaml and runs process
workers; this fleet deploys ``push-invoices`` (one company's ready drafts a run, several runs side by side)
instead of the pipeline, lets each worker run several flow runs at once, waits for every worker to be online
before anything is submitted (so no worker takes all the runs), and says which worker ran which run.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from reliability.prefect_fleet import NOT_FINAL, POOL, PREFECT, PrefectFleet
from reliability.services import REPO

__all__ = ["PUSH_DEPLOYMENT", "PushFleet"]

PUSH_DEPLOYMENT = ("push-ledger", "push-invoices")
"""prefect.yaml's push deployment: (flow name, deployment name)."""


class PushFleet(PrefectFleet):
    """A Prefect server and ``workers`` process workers, each running up to ``runs_per_worker`` push flow runs."""

    def __init__(self, home: Path, database_url: str, env: dict[str, str], *, workers: int = 2,
                 runs_per_worker: int = 1) -> None:
        super().__init__(home, database_url, env, workers=workers, say=lambda *args: None)
        self.runs_per_worker = runs_per_worker
        self.env["PREFECT_WORKER_PREFETCH_SECONDS"] = "1"  # a run is taken when it is due, by a worker with room

    def start(self, *, timeout: float = 180.0) -> None:
        """Start the server, create the pool, deploy ``push-invoices``, start the workers and wait for them."""
        self._start_server()
        for args in (["work-pool", "create", POOL, "--type", "process"],
                     ["--no-prompt", "deploy", "--name", PUSH_DEPLOYMENT[1]]):
            done = subprocess.run([PREFECT, *args], env=self.env, cwd=REPO, capture_output=True, text=True,
                                  timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"prefect {' '.join(args)} failed: {(done.stdout + done.stderr)[-2000:]}")
        self.deployment_id = self._api("GET", "/deployments/name/{}/{}".format(*PUSH_DEPLOYMENT)).json()["id"]
        for i in range(len(self.workers)):
            self.workers[i] = self._start_worker(i)
        self.wait_for_workers(timeout)

    def worker_name(self, i: int) -> str:
        return f"bench-{i + 1}"

    def worker_log(self, i: int) -> Path:
        return self.home / f"prefect-worker-{i + 1}.log"

    def _start_worker(self, i: int) -> subprocess.Popen:
        with self.worker_log(i).open("ab") as log:
            return subprocess.Popen([PREFECT, "worker", "start", "--pool", POOL, "--type", "process", "--name",
                                     self.worker_name(i), "--limit", str(self.runs_per_worker)], env=self.env,
                                    cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_for_workers(self, timeout: float) -> None:
        """Return once the server has heard from every worker (RuntimeError if one died or the time is up)."""
        wanted = {self.worker_name(i) for i in range(len(self.workers))}
        deadline = time.monotonic() + timeout
        while True:
            online = {w["name"] for w in self._api("POST", f"/work_pools/{POOL}/workers/filter", json={}).json()
                      if w.get("status") == "ONLINE"}
            if wanted <= online:
                return
            if any(worker is None or worker.poll() is not None for worker in self.workers):
                raise RuntimeError(f"a Prefect worker exited before it came online (see {self.home})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Prefect workers not online after {timeout:.0f} s: {sorted(wanted - online)}")
            time.sleep(0.5)

    def submit_push(self, company: str, *, in_flight: int = 1) -> str:
        """One ``push-invoices`` run for ``company``, keeping ``in_flight`` batches going; its id."""
        run = self._api("POST", f"/deployments/{self.deployment_id}/create_flow_run",
                        json={"parameters": {"target": {"company": company, "in_flight": in_flight}}}).json()
        self.submitted.append(run["id"])
        return run["id"]

    def wait_for_runs(self, timeout: float) -> list[dict]:
        """Every submitted run once all are final (RuntimeError if a worker died or the time is up)."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.runs(last=None)
            if len(runs) == len(self.submitted) and all(run["state_type"] not in NOT_FINAL for run in runs):
                return runs
            if any(worker is None or worker.poll() is not None for worker in self.workers):
                raise RuntimeError(f"a Prefect worker exited while its runs were going (see {self.home})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"push runs not finished after {timeout:.0f} s: "
                                   f"{sorted((run['name'], run['state_name']) for run in runs)}")
            time.sleep(0.5)

    def runs_by_worker(self) -> dict[str, list[str]]:
        """Worker name → the submitted runs its log says it started."""
        found: dict[str, list[str]] = {}
        for i in range(len(self.workers)):
            text = self.worker_log(i).read_text(encoding="utf-8", errors="replace")
            found[self.worker_name(i)] = [run_id for run_id in self.submitted if run_id in text]
        return found
