"""Fixtures for the operations tests: the harness's API URL, a fake Jobber over HTTP, a private Dovecot, a config."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest
import uvicorn

from sandbox.dovecot_server import DOVECOT, DovecotServer
from sandbox.fake_jobber import create_fake_jobber


@pytest.fixture
def prefect_url(prefect_api) -> str:
    from prefect.settings import get_current_settings

    return str(get_current_settings().api.url)


@pytest.fixture
def forget_automations(prefect_api):
    """Delete the example automations after the test, so other tests' failed runs alert no one."""
    yield
    import yaml
    from prefect.client.orchestration import get_client

    from closeout.orchestration.prefect_setup import automation_files

    names = [spec["name"] for path in automation_files() for spec in yaml.safe_load(path.read_text())["automations"]]
    with get_client(sync_client=True) as client:
        for name in names:
            for automation in client.read_automations_by_name(name):
                client.delete_automation(automation.id)


@pytest.fixture(scope="module")
def fake_jobber_url():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_fake_jobber(), log_config=None, log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def mail_server():
    """A private Dovecot for one test (the test may stop it)."""
    if not Path(DOVECOT).exists():
        message = "Dovecot is not installed: run `make system-deps` (as root) or `make test`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = DovecotServer().start()
    yield server
    server.remove()
