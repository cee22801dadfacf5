"""`closeout setup` against the Prefect harness (in a subprocess), and read_secret's order of places."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from closeout.credentials.blocks import ImapCredentials, JobberCredentials, all_block_types
from typer.testing import CliRunner

from closeout.cli import app
from closeout.orchestration.prefect_setup import apply_automations, automation_files, find_notify_block_id
from closeout.credentials.vaults import QuickBooksCredentials
from closeout.credentials.lookup import MissingSecretError, read_secret
from ops_config import write_config
from sandbox.fake_jobber import FAKE_REFRESH_TOKEN

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))
CLIENT_SECRET = "jobber-client-secret-7f3a9c"
MAIL_PASSWORD = "mailbox-password-5e1d22"


def _closeout(*args: str, env: dict[str, str], home: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLOSEOUT_", "PREFECT_API_URL"))}
    return subprocess.run([CLOSEOUT, *args], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                          env={**clean, "CLOSEOUT_HOME": str(home), "PREFECT_CLIENT_MAX_RETRIES": "0", **env})


def test_setup_registers_the_block_types_creates_the_blocks_and_never_prints_a_secret(prefect_url, tmp_path,
                                                                                      fake_jobber_url,
                                                                                      forget_automations):
    from types import SimpleNamespace

    from prefect.client.orchestration import get_client

    mail = SimpleNamespace(imaps_port=993, ca_file="/nonexistent/ca.pem")
    config = write_config(tmp_path / "closeout.toml", "setup-co", jobber_url=fake_jobber_url, mail=mail,
                          mail_folders={"field": "INBOX"}, ledger_url="https://quickbooks.api.intuit.com")
    env = {"PREFECT_API_URL": prefect_url, "CLOSEOUT_JOBBER_CLIENT_ID_SETUP_CO": "demo-app",
           "CLOSEOUT_JOBBER_CLIENT_SECRET_SETUP_CO": CLIENT_SECRET,
           "CLOSEOUT_JOBBER_REFRESH_TOKEN_SETUP_CO": FAKE_REFRESH_TOKEN,
           "CLOSEOUT_IMAP_PASSWORD_FIELD_SETUP_CO": MAIL_PASSWORD, "CLOSEOUT_QBO_CLIENT_ID_SETUP_CO": "intuit-app",
           "CLOSEOUT_QBO_CLIENT_SECRET_SETUP_CO": CLIENT_SECRET, "CLOSEOUT_QBO_REFRESH_TOKEN_SETUP_CO": "AB11-first",
           "CLOSEOUT_NOTIFY_WEBHOOK_URL": "http://127.0.0.1:9/alerts"}

    done = _closeout("setup", "--non-interactive", "--config", str(config), env=env, home=tmp_path / "home")

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert CLIENT_SECRET not in output and MAIL_PASSWORD not in output and FAKE_REFRESH_TOKEN not in output
    assert "AB11-first" not in output
    assert "setup-co-jobber" in output and "setup-co-field" in output
    with get_client(sync_client=True) as client:
        for block_type in all_block_types():
            assert client.read_block_type_by_slug(block_type.get_block_type_slug()).name
        automations = {name: client.read_automations_by_name(name) for name in _automation_names()}
    assert {name: [a.enabled for a in found] for name, found in automations.items()} == {
        name: [True] for name in _automation_names()}
    jobber = JobberCredentials.load("setup-co-jobber")
    assert jobber.client_id == "demo-app" and jobber.client_secret.get_secret_value() == CLIENT_SECRET
    assert ImapCredentials.load("setup-co-field").password.get_secret_value() == MAIL_PASSWORD
    assert CLIENT_SECRET not in repr(jobber)
    ledger = QuickBooksCredentials.load("setup-co-quickbooks")
    assert ledger.realm_id == "4620816365" and ledger.refresh_token.get_secret_value() == "AB11-first"
    assert read_secret("qbo-client-id", "setup-co") == "intuit-app"  # what the ledger's token refresh reads

    apply_automations(automation_files(), notify_block_id=find_notify_block_id())  # what a second setup does
    with get_client(sync_client=True) as client:  # applied again: replaced, not doubled
        assert all(len(client.read_automations_by_name(name)) == 1 for name in _automation_names())


def test_setup_without_a_reachable_prefect_api_says_so_in_one_line_and_exits_2(tmp_path, fake_jobber_url):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    config = write_config(tmp_path / "closeout.toml", "setup-co", jobber_url=fake_jobber_url)

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        done = CliRunner().invoke(app, ["setup", "--non-interactive", "--config", str(config)])

    assert done.exit_code == 2
    assert "Prefect API at http://127.0.0.1:9/api does not answer" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)


def test_setup_names_the_environment_variables_it_still_needs(prefect_api, tmp_path, fake_jobber_url, monkeypatch):
    config = write_config(tmp_path / "closeout.toml", "lacking-co", jobber_url=fake_jobber_url)
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_ID_LACKING_CO", "app")

    done = CliRunner().invoke(app, ["setup", "--non-interactive", "--no-automations", "--config", str(config)])

    assert done.exit_code == 1, done.output
    assert "CLOSEOUT_JOBBER_CLIENT_SECRET_LACKING_CO" in done.output
    assert "CLOSEOUT_JOBBER_REFRESH_TOKEN_LACKING_CO" in done.output


def test_setup_asks_for_each_field_with_hidden_input_and_asks_before_replacing_a_block(prefect_api, tmp_path):
    from closeout.credentials.blocks import HousecallProCredentials

    config = tmp_path / "closeout.toml"
    config.write_text('[[companies]]\nid = "ask-co"\nname = "Ask"\n[companies.ledger]\nrealm_id = "1"\n'
                      '[[companies.sources]]\nkind = "housecallpro"\n')
    command = ["setup", "--no-automations", "--config", str(config)]

    first = CliRunner().invoke(app, command, input="hcp-key-4471\n\n")
    kept = CliRunner().invoke(app, command, input="n\n")
    replaced = CliRunner().invoke(app, command, input="y\nhcp-key-9902\nhook-secret-31\n")

    assert [first.exit_code, kept.exit_code, replaced.exit_code] == [0, 0, 0], first.output + replaced.output
    assert "hcp-key-4471" not in first.output and "hcp-key-9902" not in replaced.output
    assert "hook-secret-31" not in replaced.output and "kept" in kept.output
    block = HousecallProCredentials.load("ask-co-housecallpro")
    assert block.api_key.get_secret_value() == "hcp-key-9902"
    assert block.webhook_secret.get_secret_value() == "hook-secret-31"


def test_a_credential_block_wins_over_the_environment_and_a_miss_names_every_place_looked(prefect_api,
                                                                                          monkeypatch):
    JobberCredentials(client_id="from-block", client_secret="s", refresh_token="r").save("order-co-jobber",
                                                                                        overwrite=True)
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_ID_ORDER_CO", "from-env")
    monkeypatch.setenv("CLOSEOUT_JOBBER_API_KEY_ORDER_CO", "from-env")

    assert read_secret("jobber-client-id", "order-co", system="jobber") == "from-block"
    assert read_secret("jobber-api-key", "order-co", system="jobber") == "from-env"  # no such field: env
    with pytest.raises(MissingSecretError) as missing:
        read_secret("imap-password-field", "order-co", system="imap")
    message = str(missing.value)
    assert "closeout-imap-credentials/order-co-field (field password)" in message
    assert "CLOSEOUT_IMAP_PASSWORD_FIELD_ORDER_CO" in message
    assert "Secret block 'imap-password-field-order-co'" in message


def _automation_names() -> list[str]:
    import yaml

    return [spec["name"] for path in automation_files() for spec in yaml.safe_load(path.read_text())["automations"]]


class _BusyPrefect:
    """A Prefect API that says it is healthy and answers 503 to everything else, counting the requests."""

    def __init__(self) -> None:
        import http.server
        import threading

        busy = self
        self.requests: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                if self.path.rstrip("/").endswith("/health"):
                    status, body = 200, b"true"
                else:
                    busy.requests.append(f"{self.command} {self.path}")
                    status, body = 503, b'{"detail": "Service Unavailable"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_prefect_api_that_stays_busy_is_tried_four_times_then_named_in_one_line_without_a_traceback(
        tmp_path, fake_jobber_url):
    busy = _BusyPrefect()
    config = write_config(tmp_path / "closeout.toml", "busy-co", jobber_url=fake_jobber_url)
    try:
        done = _closeout("setup", "--non-interactive", "--config", str(config),
                         env={"PREFECT_API_URL": busy.url}, home=tmp_path / "home")
    finally:
        busy.server.shutdown()

    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "the Prefect API could not register the block type" in done.stdout
    assert "HTTP 503, 4 tries" in done.stdout
    assert len(busy.requests) == 4  # one request per try, nothing after the step that failed


def test_a_busy_spell_of_the_prefect_api_is_waited_out_and_a_refusal_is_not_retried():
    import httpx
    from prefect.exceptions import PrefectHTTPStatusError

    from closeout.orchestration.prefect_setup import PrefectUnreachableError, call_prefect

    def answer(status: int) -> PrefectHTTPStatusError:
        request = httpx.Request("POST", "http://prefect.test/api/block_schemas/")
        return PrefectHTTPStatusError(f"{status}", request=request, response=httpx.Response(status, request=request))

    slept: list[float] = []
    answers = [answer(503), answer(503), "registered"]

    def flaky() -> str:
        outcome = answers.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert call_prefect("register", flaky, sleep=slept.append) == "registered" and slept == [1.0, 2.0]

    refused = [answer(422)]
    with pytest.raises(PrefectUnreachableError, match=r"could not save \(HTTP 422, 1 try\)"):
        call_prefect("save", lambda: (_ for _ in ()).throw(refused.pop()), sleep=slept.append)
    assert slept == [1.0, 2.0]
