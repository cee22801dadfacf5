"""A local Prefect server as a child process: SQLite in the workspace by default, PostgreSQL when given a URL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 120.0
"""A fresh database is migrated first: about 10 s on SQLite, more on a busy machine."""


@dataclass(frozen=True)
class PrefectServer:
    process: subprocess.Popen
    url: str  # the UI, http://127.0.0.1:4200

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(home: Path, database_url: str | None = None, *, api_url: str | None = None) -> dict[str, str]:
    """The server's environment: its own PREFECT_HOME in the workspace, the database, no telemetry, and the API
    its UI calls (``api_url``: without it the UI calls port 4200 whatever port the server listens on)."""
    prefect_home = home / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    env.update({
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_API_DATABASE_CONNECTION_URL": database_url or f"sqlite+aiosqlite:///{prefect_home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    })
    if api_url:
        env["PREFECT_SERVER_UI_API_URL"] = api_url
    return env


def server_answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(f"{url}/api/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_prefect_server(home: Path, *, port: int = 0, database_url: str | None = None,
                         log: Path | None = None) -> PrefectServer:
    """Start ``prefect server start`` on 127.0.0.1 and return once /api/health answers (RuntimeError if not)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_environment(home, database_url, api_url=f"{url}/api")
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") if log else open(os.devnull, "wb") as output:  # the child keeps its own handle
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops whatever it started too
        )
    server = PrefectServer(process, url)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server_answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start on {url}" + (f" (see {log})" if log else ""))
            time.sleep(0.25)
    except BaseException:  # includes Ctrl-C while waiting: never leave the child behind
        stop_prefect_server(server)
        raise
    return server


def stop_prefect_server(server: PrefectServer, *, timeout: float = 20.0) -> None:
    """Stop the server and every process it started (its process group): SIGTERM, then SIGKILL after ``timeout``."""
    _signal_group(server.process, signal.SIGTERM)
    try:
        server.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(server.process, signal.SIGKILL)
        server.process.wait()
    _signal_group(server.process, signal.SIGKILL)  # a straggler the server left behind


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):  # the group is gone already
        pass


@contextmanager
def running_prefect_server(home: Path, *, port: int = 0, database_url: str | None = None,
                           log: Path | None = None) -> Iterator[PrefectServer]:
    server = start_prefect_server(home, port=port, database_url=database_url, log=log)
    try:
        yield server
    finally:
        stop_prefect_server(server)
