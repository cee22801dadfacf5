"""Scenario 5: a quiet day, a full pipeline run (the Prefect flow) when nothing changed since the last one.

The demo config (CSV jobs and a Maildir for Northwind on QuickBooks, CSV jobs for Harbour on Xero) plus a
Jobber stream for Northwind, served by the fake Jobber behind a request counter. The flow runs once to
take everything in, then again: that second run is measured. Ledger calls are the sandbox's own request
counts per company (target 0); source calls are the HTTP requests the Jobber stream made (target: one
cheap request per stream, the page of jobs changed since the watermark) and the CSV pages that carried a
job (0: the drop's cursor says every file is unchanged).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from bench.measure import Measure
from closeout.workspace import install_demo_config
from sandbox.fake_jobber import FAKE_REFRESH_TOKEN, create_fake_jobber
from sandbox.qbo_store import QboStore
from sandbox.xero_store import XeroStore

SCENARIO = "5 quiet day"
JOBBER_ENV = {"CLOSEOUT_JOBBER_CLIENT_ID_NORTHWIND": "bench", "CLOSEOUT_JOBBER_CLIENT_SECRET_NORTHWIND": "bench",
              "CLOSEOUT_JOBBER_REFRESH_TOKEN_NORTHWIND": FAKE_REFRESH_TOKEN}


class CountingApp:
    """An ASGI wrapper that counts the HTTP requests per path of the app it wraps."""

    def __init__(self, app: Any) -> None:
        self.app, self.calls = app, Counter()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.calls[scope["path"]] += 1
        await self.app(scope, receive, send)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def ledger_requests(home: Path) -> dict[str, int]:
    """Requests each demo ledger company has received, from the sandbox's own state."""
    state = home / "sandbox"
    return {"northwind (QBO)": QboStore(state).stats("9130355221")["requests"],
            "harbour (Xero)": XeroStore(state).stats(_harbour_tenant())["requests"]}


def _harbour_tenant() -> str:
    from closeout.config import load_config
    from closeout.workspace import BUNDLED_DEMO_CONFIG

    return load_config(BUNDLED_DEMO_CONFIG).company("harbour").ledger.tenant_id


def with_jobber(config: Path, url: str) -> None:
    text = config.read_text(encoding="utf-8")
    marker = '[[companies.sources]]\nkind = "csv"\nname = "csv-drop"'
    if marker not in text:
        raise RuntimeError("the demo config changed: cannot find Northwind's CSV source to add Jobber beside it")
    jobber = f'[[companies.sources]]\nkind = "jobber"\nname = "jobber"\napi_url = "{url}"\n\n'
    config.write_text(text.replace(marker, jobber + marker, 1), encoding="utf-8")


def run(size: str) -> list[Measure]:
    from flows.pipeline import closeout_pipeline

    fake = CountingApp(create_fake_jobber())
    saved = {key: os.environ.get(key) for key in (*JOBBER_ENV, "CLOSEOUT_HOME", "CLOSEOUT_DATABASE_URL")}
    with tempfile.TemporaryDirectory(prefix="closeout-quiet-") as folder, serving(fake) as url:
        home = Path(folder)
        os.environ.update(JOBBER_ENV, CLOSEOUT_HOME=str(home))
        os.environ.pop("CLOSEOUT_DATABASE_URL", None)
        try:
            config = install_demo_config(home)
            with_jobber(config, url)
            first = closeout_pipeline(str(config))
            before, calls_before = ledger_requests(home), Counter(fake.calls)
            started = time.perf_counter()
            second = closeout_pipeline(str(config))
            seconds = time.perf_counter() - started
            after, calls_after = ledger_requests(home), Counter(fake.calls)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    ledger_calls = sum(after.values()) - sum(before.values())
    jobber_calls = calls_after - calls_before
    graphql = jobber_calls.get("/api/graphql", 0)
    streams = 3  # Northwind: CSV drop and Jobber; Harbour: CSV drop
    return [
        Measure(SCENARIO, "ledger calls", ledger_calls, "calls", 0, "nothing to send", None, "== 0",
                ledger_calls == 0),
        Measure(SCENARIO, "Jobber requests", sum(jobber_calls.values()), "requests", 1,
                f"one cheap request per stream ({dict(jobber_calls) or 'none'})",
                float(graphql), "<= 1", graphql <= 1 and sum(jobber_calls.values()) <= 2),
        Measure(SCENARIO, "new or changed payloads", second.new_payloads, "payloads", first.new_payloads,
                f"payloads on the first run, {streams} source streams", None, "== 0", second.new_payloads == 0),
        Measure(SCENARIO, "invoices pushed", second.pushed, "invoices", first.pushed, "invoices on the first run",
                None, "== 0", second.pushed == 0),
        Measure(SCENARIO, "wall time (second flow run)", round(seconds, 2), "s", None, "", None, "", None),
    ]
