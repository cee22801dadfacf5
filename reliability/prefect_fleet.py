"""The campaign's Prefect side: a Prefect server on the campaign's PostgreSQL, the ``pipeline`` deployment from
prefect.yaml, and process workers (``prefect worker start --type process``) running it, killed and restarted.

The campaign keeps one ``closeout-pipeline`` run submitted at a time (the deployment's concurrency limit is 1).
A worker is SIGKILLed with its process group (the flow run it was running dies with it), and the server is
stopped and started on the same port while runs are in flight. A run whose process is gone stays Running in
Prefect (nothing heartbeats it): the fleet marks it Crashed, as an operator or a zombie automation would, which
releases the deployment's slot. Talks to the server's REST API with short timeouts, so a server that is down
costs a retry, never a hang.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from closeout.orchestration.prefect_server import PrefectServer, free_port, start_prefect_server, stop_prefect_server
from reliability.services import REPO

PREFECT = str(Path(sys.executable).with_name("prefect"))
POOL = "closeout-process"
FLOW, DEPLOYMENT = "closeout-pipeline", "pipeline"
NOT_FINAL = ("SCHEDULED", "PENDING", "RUNNING", "CANCELLING", "PAUSED")


class PrefectFleet:
    """A Prefect server and ``workers`` process workers running the pipeline deployment for the campaign."""

    def __init__(self, home: Path, database_url: str, env: dict[str, str], *, workers: int = 2,
                 say=print) -> None:
        self.home, self.database_url, self.say = home, database_url, say
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "PREFECT_API_URL": f"{self.url}/api", "PWD": str(REPO), "PREFECT_HOME": str(home / "prefect-client"),
                    "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "5",
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_TO_API_ENABLED": "false"}
        self.server: PrefectServer | None = None
        self.workers: list[subprocess.Popen | None] = [None] * workers
        self.deployment_id: str | None = None
        self.submitted: list[str] = []
        self.injected: Counter = Counter()
        self._running_pid: str | None = None

    # -- the server -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._start_server()
        for args in (["work-pool", "create", POOL, "--type", "process"], ["--no-prompt", "deploy", "--name", DEPLOYMENT]):
            done = subprocess.run([PREFECT, *args], env=self.env, cwd=REPO, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"prefect {' '.join(args)} failed: {(done.stdout + done.stderr)[-2000:]}")
        deployment = self._api("GET", f"/deployments/name/{FLOW}/{DEPLOYMENT}").json()
        self.deployment_id = deployment["id"]
        for schedule in deployment.get("schedules") or []:  # the campaign submits its runs; no 15-minute ones
            self._api("PATCH", f"/deployments/{self.deployment_id}/schedules/{schedule['id']}", json={"active": False})
        for i in range(len(self.workers)):
            self.workers[i] = self._start_worker(i)

    def _start_server(self) -> None:
        self.server = start_prefect_server(self.home, port=self.port, database_url=self.database_url,
                                           log=self.home / "prefect-server.log")

    def restart_server(self, down_seconds: float = 2.0) -> int:
        """Stop the server (SIGTERM, its process group) while runs are in flight, wait, start it on the same port."""
        if self.server:
            stop_prefect_server(self.server)
        time.sleep(down_seconds)
        for attempt in range(3):  # the database may be restarting at the same moment
            try:
                self._start_server()
                return 1
            except RuntimeError:
                if attempt == 2:
                    raise
                time.sleep(3)
        return 1

    # -- the workers ------------------------------------------------------------------------------------------
    def _start_worker(self, i: int) -> subprocess.Popen:
        with (self.home / f"prefect-worker-{i + 1}.log").open("ab") as log:
            return subprocess.Popen([PREFECT, "worker", "start", "--pool", POOL, "--type", "process", "--name",
                                     f"campaign-{i + 1}", "--limit", "1"], env=self.env, cwd=REPO, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def busy(self) -> bool:
        """Whether a flow run of the campaign's is running in a worker's process (as last seen by ``tend``)."""
        return self._running_pid is not None and _alive(self._running_pid)

    def kill_busy_worker(self) -> int:
        """SIGKILL the flow run that is running and the worker that started it (each with its process group: the
        process worker starts a run in a session of its own), then start the worker again."""
        try:
            pid = int(str(self._running_pid).rsplit(":", 1)[-1])
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return 0
        for i, worker in enumerate(self.workers):
            if worker is not None and worker.pid == parent:
                try:
                    os.killpg(os.getpgid(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.kill_worker(i)
                return 1
        return 0

    def kill_worker(self, i: int) -> None:
        """SIGKILL worker ``i`` and the flow run it started (its process group), then start it again."""
        worker = self.workers[i]
        if worker is not None:
            try:
                os.killpg(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            worker.wait()
        self.workers[i] = self._start_worker(i)

    def stop_workers(self) -> None:
        runs = [child for worker in self.workers if worker is not None for child in _children(worker.pid)]
        for worker in self.workers:
            if worker is not None and worker.poll() is None:
                try:
                    os.killpg(worker.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for worker in self.workers:
            if worker is None:
                continue
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        for pid in runs:  # a flow run left behind (it runs in a session of its own)
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self) -> None:
        self.stop_workers()
        if self.server:
            stop_prefect_server(self.server)
            self.server = None

    # -- the runs ---------------------------------------------------------------------------------------------
    def _api(self, method: str, path: str, **kwargs) -> httpx.Response:
        response = httpx.request(method, f"{self.url}/api{path}", timeout=10, trust_env=False, **kwargs)
        response.raise_for_status()
        return response

    def runs(self, last: int | None = 20) -> list[dict]:
        """The campaign's own runs (the last ``last`` submitted; None: all), not the deployment's scheduled ones."""
        ids = self.submitted[-last:] if last else self.submitted
        found: list[dict] = []
        for start in range(0, len(ids), 200):
            found += self._api("POST", "/flow_runs/filter", json={
                "flow_runs": {"id": {"any_": ids[start:start + 200]}}, "limit": 200}).json()
        return found

    def tend(self) -> None:
        """Crash the runs whose process is gone and keep one run submitted; quiet while the server is down."""
        try:
            mine = [run for run in self.runs() if run["id"] in self.submitted]
            running = [run for run in mine if run["state_type"] == "RUNNING" and run.get("infrastructure_pid")]
            self._running_pid = running[0]["infrastructure_pid"] if running else None
            for run in mine:
                if run["state_type"] in ("RUNNING", "PENDING", "CANCELLING") and not _alive(run.get("infrastructure_pid")):
                    self.crash(run["id"], "its process was killed")
            if not any(run["state_type"] in NOT_FINAL for run in mine):
                self.submit()
        except (httpx.HTTPError, KeyError, ValueError):
            pass

    def submit(self) -> str:
        run = self._api("POST", f"/deployments/{self.deployment_id}/create_flow_run", json={}).json()
        self.submitted.append(run["id"])
        return run["id"]

    def crash(self, run_id: str, why: str) -> None:
        self._api("POST", f"/flow_runs/{run_id}/set_state", json={
            "state": {"type": "CRASHED", "name": "Crashed", "message": f"campaign: {why}"}, "force": True})
        self.injected["prefect_flow_run_marked_crashed"] += 1

    def finish(self, timeout: float) -> dict | None:
        """Once the faults stopped: crash what is left, run the pipeline once more and wait for its end."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                for run in self.runs():
                    if run["id"] in self.submitted and run["state_type"] in NOT_FINAL:
                        if run["state_type"] == "SCHEDULED" or not _alive(run.get("infrastructure_pid")):
                            self.crash(run["id"], "left over when the faults stopped")
                break
            except httpx.HTTPError:
                time.sleep(2)
        last = None
        while time.monotonic() < deadline:
            try:
                if last is None:
                    last = self.submit()
                run = self._api("GET", f"/flow_runs/{last}").json()
                if run["state_type"] not in NOT_FINAL:
                    return run
                if run["state_type"] in ("RUNNING", "PENDING") and not _alive(run.get("infrastructure_pid")):
                    self.crash(last, "its process was gone")
                    last = None
            except httpx.HTTPError:
                pass
            time.sleep(2)
        return None

    def states(self) -> Counter:
        try:
            return Counter(run["state_name"] for run in self.runs(last=None))
        except httpx.HTTPError:
            return Counter()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass
    return found


def _alive(infrastructure_pid: str | None) -> bool:
    """Whether the run's process (``host:pid``, on this machine) still exists; True when not known yet."""
    if not infrastructure_pid:
        return True
    try:
        os.kill(int(str(infrastructure_pid).rsplit(":", 1)[-1]), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
