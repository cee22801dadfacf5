"""The demo pointed at the fake Jobber over real HTTP: its completed, signed jobs reach the ledger sandbox as invoices."""

from __future__ import annotations

import socket
import threading
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn

from closeout.settings import BUNDLED_DEMO_CONFIG, Settings
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from services.doctor import check_sources
from closeout.wiring import open_app
from sandbox.fake_jobber import FAKE_REFRESH_TOKEN, create_fake_jobber


@pytest.fixture
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
def jobber_demo_config(tmp_path, fake_jobber_url, monkeypatch, workspace) -> Path:
    demo = Path(BUNDLED_DEMO_CONFIG).with_name("jobber.toml")
    config = tmp_path / "jobber.toml"
    config.write_text(demo.read_text().replace("http://127.0.0.1:8766", fake_jobber_url))
    (tmp_path / "mapping_tables.toml").write_text(demo.with_name("mapping_tables.toml").read_text())
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_ID_NORTHWIND", "demo")
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_SECRET_NORTHWIND", "demo")
    monkeypatch.setenv("CLOSEOUT_JOBBER_REFRESH_TOKEN_NORTHWIND", FAKE_REFRESH_TOKEN)
    return config


def test_the_demo_on_a_fake_jobber_invoices_its_completed_signed_jobs_in_the_ledger_sandbox(jobber_demo_config):
    with open_app(settings=Settings(), config_path=jobber_demo_config) as app:
        (company,) = app.companies()
        (source,) = company.sources
        assert [check.ok for check in check_sources(app)] == [True]
        pulled = pull_source(app, company, source)
        while prepare_batch(app, run_id="test").evaluated:
            pass
        pushed = push_batch(app, company)
        again = pull_source(app, company, source)
    assert pulled.pulled == 7 and pulled.changed == 7
    assert pushed.pushed == 3 and pushed.pushed_amount == Decimal("556.25")
    assert sorted(invoice["job"] for invoice in pushed.invoices) == ["NW-2001", "NW-2002", "NW-2003"]
    assert again.new_payloads == 0  # the second run reads only what changed since the watermark


def test_doctor_says_exactly_which_credential_is_missing(jobber_demo_config, monkeypatch):
    monkeypatch.delenv("CLOSEOUT_JOBBER_CLIENT_SECRET_NORTHWIND")
    # no Prefect API to hold a Secret block either: a closed port answers at once (no temporary server)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "0")
    with open_app(settings=Settings(), config_path=jobber_demo_config) as app:
        (check,) = check_sources(app)
    assert not check.ok and "CLOSEOUT_JOBBER_CLIENT_SECRET_NORTHWIND" in check.detail
