"""Fixtures for every test package: Prefect's test harness (one temporary API server a session) and a workspace."""

import os

import pytest

# Before the harness spawns its server: batch the task-run recorder, and no telemetry (no internet here).
os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE", "100")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Under the harness a Prefect server is configured, so every ledger call waits for the company's turn in
# the global rate limits (closeout.orchestration.pacing) at QBO's and Xero's real pace: 40 QBO batches a minute would
# make the suite wait minutes. The sandbox here is not rate limited; pace as if a minute were a second.
# Tests of the pacing itself set their own scale.
os.environ.setdefault("CLOSEOUT_LEDGER_TIME_SCALE", "60")


@pytest.fixture(scope="session")
def prefect_api():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120), temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """An empty Closeout workspace (SQLite store, sandbox state) for one test."""
    home = tmp_path / "workspace"
    monkeypatch.setenv("CLOSEOUT_HOME", str(home))
    monkeypatch.delenv("CLOSEOUT_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLOSEOUT_CONFIG", raising=False)
    return home


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium (``make test`` installs it); missing means skip, or fail under CI=true."""
    import shutil
    from pathlib import Path

    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "Chromium is not installed (apt-get install chromium; `make test` does it as root)"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(message + " — CI=true: the browser tests must run", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser(chromium):
    """A headless Chromium driven through Playwright, for one test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
