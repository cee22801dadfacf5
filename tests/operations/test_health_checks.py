"""The closeout-health flow against the real ledger sandbox, a fake Jobber over HTTP and a real Dovecot."""

from __future__ import annotations

import json
import ssl
import time
from datetime import UTC, datetime, timedelta

import pytest
from imapclient import IMAPClient
from typer.testing import CliRunner

from closeout.cli import app as cli
from closeout.credentials.blocks import ImapCredentials, JobberCredentials
from closeout.wiring import open_app
from ops_config import write_config
from exceptions_queue.cases import CaseStatus
from flows.health import health_check
from sandbox.dovecot_server import PASSWORD, USER
from sandbox.fake_jobber import FAKE_REFRESH_TOKEN
from workorders.anomalies import AnomalyCode

pytestmark = pytest.mark.e2e
NOTE = b"From: crew@example.com\r\nTo: office@example.com\r\nSubject: WO-1001 done\r\n\r\nAll done.\r\n"


@pytest.fixture
def health_config(prefect_api, tmp_path, workspace, mail_server, fake_jobber_url, monkeypatch):
    """Company health-co: credentials only in Prefect blocks; a fresh INBOX and an "Old" folder 10 days quiet."""
    for name in list(__import__("os").environ):
        if name.startswith("CLOSEOUT_") and name.endswith("_HEALTH_CO"):
            monkeypatch.delenv(name)
    JobberCredentials(client_id="demo", client_secret="demo", refresh_token=FAKE_REFRESH_TOKEN).save(
        "health-co-jobber", overwrite=True)
    for mailbox in ("field", "archive"):
        ImapCredentials(password=PASSWORD).save(f"health-co-{mailbox}", overwrite=True)
    with IMAPClient("127.0.0.1", port=mail_server.imaps_port, ssl=True, timeout=10,
                    ssl_context=ssl.create_default_context(cafile=mail_server.ca_file)) as admin:
        admin.login(USER, PASSWORD)
        admin.create_folder("Old")
        admin.append("INBOX", NOTE, msg_time=datetime.now(UTC) - timedelta(minutes=5))
        admin.append("Old", NOTE, msg_time=datetime.now(UTC) - timedelta(days=10))
    return write_config(tmp_path / "closeout.toml", "health-co", jobber_url=fake_jobber_url, mail=mail_server,
                        mail_folders={"field": "INBOX", "archive": "Old"})


def test_every_component_is_checked_once_and_a_quiet_mailbox_is_stale(health_config):
    rows = {row.component: row for row in health_check(config_path=str(health_config))}

    assert set(rows) == {"health-co/source:jobber", "health-co/mailbox:field", "health-co/mailbox:archive",
                         "health-co/ledger:quickbooks", "health-co/mappings:quickbooks"}
    assert [rows[c].ok for c in ("health-co/source:jobber", "health-co/mailbox:field", "health-co/ledger:quickbooks",
                                 "health-co/mappings:quickbooks")] == [True, True, True, True]
    assert "mapping entries name codes QuickBooks has" in rows["health-co/mappings:quickbooks"].detail
    assert "newest message 5 min old" in rows["health-co/mailbox:field"].detail
    assert rows["health-co/mailbox:archive"].problem == "stale"
    assert "10 days" in rows["health-co/mailbox:archive"].detail
    table = _artifact_rows("closeout-health")
    assert {"component": "health-co/mailbox:archive", "ok": "NO"}.items() <= table[2].items()


def test_a_stopped_mail_server_fails_its_row_opens_one_case_and_emits_an_event(health_config, mail_server):
    mail_server.stop()

    first = {row.component: row for row in health_check(config_path=str(health_config))}
    health_check(config_path=str(health_config))  # a second run finds the open case
    printed = CliRunner().invoke(cli, ["health", "--config", str(health_config)])

    field = first["health-co/mailbox:field"]
    assert field.problem == "failed" and "RetriableError" in field.detail
    assert first["health-co/source:jobber"].ok and first["health-co/ledger:quickbooks"].ok
    with open_app(config_path=health_config) as opened, opened.store.unit_of_work() as uow:
        cases = uow.cases.list(statuses=(CaseStatus.open,), kinds=[AnomalyCode.mailbox_stalled], company="health-co")
    assert sorted(case.subject for case in cases) == ["mailbox:health-co/archive", "mailbox:health-co/field"]
    assert printed.exit_code == 1 and "health-co/mailbox:field" in printed.output
    events = _wait_for_events("closeout.health.failed", "closeout.mailbox.health-co.field")
    assert events and events[0].payload["case_id"] in {case.id for case in cases}


def _artifact_rows(key: str) -> list[dict]:
    from prefect.artifacts import Artifact

    artifact = Artifact.get(key)
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


def _wait_for_events(name: str, resource_id: str) -> list:
    """Events reach the API's store after its persister flushes (every few seconds)."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    wanted = EventFilter(event=EventNameFilter(name=[name]), resource=EventResourceFilter(id=[resource_id]))
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            events = client.read_events(filter=wanted, limit=50).events
            if events or time.monotonic() > deadline:
                return events
            time.sleep(0.5)
