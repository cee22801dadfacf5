"""Mailbox sign-in with OAuth2 on a real Dovecot whose oauth2 passdb asks the sandbox's introspection endpoint:
XOAUTH2 and OAUTHBEARER read the mailbox, a token that ended early is renewed once, a refused renewal is a
connection_failed case, a password still works, and no token or secret is written anywhere a person reads."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from imapclient import IMAPClient

from closeout.credentials.ledger_tokens import SANDBOX_CLIENT_SECRET
from connectors.errors import AuthError
from dovecot_oauth_server import OAUTH_USER, DovecotOAuthServer
from dovecot_server import DOVECOT, PASSWORD
from exceptions_queue.cases import CaseStatus
from mail_factory import mail
from sandbox.server import running_sandbox
from services.health import check_company, record_problems
from services.mail.ingest import ingest_mailbox
from services.mailbox_config import MailboxConfig
from workorders.anomalies import AnomalyCode

_names = itertools.count(1)
CLOSEOUT = str(Path(sys.executable).with_name("closeout"))
SYSTEM = {"microsoft": "ms365", "google": "google"}


@pytest.fixture(scope="module")
def mail_sandbox():
    with tempfile.TemporaryDirectory(prefix="cmo-") as state, running_sandbox(Path(state)) as url:
        yield url


@pytest.fixture(scope="module")
def oauth_dovecot(mail_sandbox):
    if not Path(DOVECOT).exists():
        message = "Dovecot is not installed: run `make system-deps` (as root) or `make test`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = DovecotOAuthServer(mail_sandbox).start()
    yield server
    server.remove()


@pytest.fixture
def seeded(oauth_dovecot):
    """A new folder of the OAuth user's mailbox with two messages, put there over a password login."""
    client = IMAPClient("127.0.0.1", port=oauth_dovecot.imaps_port, ssl=True, timeout=10,
                        ssl_context=ssl.create_default_context(cafile=oauth_dovecot.ca_file))
    client.login(OAUTH_USER, PASSWORD)
    folder = f"O{os.getpid()}-{next(_names)}"
    client.create_folder(folder)
    client.multiappend(folder, [mail(1, "WO-1042 gauges"), mail(2, "Job #1043 filters")])
    client.logout()
    return folder


@pytest.fixture
def oauth_app(app, mail_sandbox):
    app.sandbox_url = mail_sandbox
    return app


@pytest.fixture
def mailbox(oauth_dovecot, seeded):
    """A mailbox config of its own (so its sandbox client and counts are its own) on the seeded folder."""
    def make(**changes) -> MailboxConfig:
        fields = {"kind": "imap", "name": f"field-{next(_names)}", "host": "127.0.0.1",
                  "port": oauth_dovecot.imaps_port, "username": OAUTH_USER, "ca_file": oauth_dovecot.ca_file,
                  "folders": (seeded,), "read_timeout": 5, "connect_timeout": 5, "auth": "oauth2",
                  "oauth_provider": "microsoft", "oauth_url": "sandbox", "oauth_tenant": "common"}
        return MailboxConfig(**{**fields, **changes})
    return make


def sandbox(url: str, method: str, path: str, **kwargs) -> dict:
    with httpx.Client(trust_env=False, timeout=10) as client:
        answer = client.request(method, f"{url}{path}", **kwargs)
        answer.raise_for_status()
        return answer.json()


def stats(url: str, provider: str, mailbox: MailboxConfig) -> dict:
    return sandbox(url, "GET", f"/_sandbox/{SYSTEM[provider]}/token-stats",
                   params={"client_id": f"closeout-acme-{mailbox.name}"})


def token_file(app, mailbox: MailboxConfig) -> Path:
    return app.home / "tokens" / f"acme-imap-{mailbox.name}.json"


def refused_tokens(server) -> int:
    """How many token checks Dovecot's oauth2 passdbs failed (auth_verbose logs each)."""
    return server.log().count("oauth2 failed: Introspection failed")


def logins(server, method: str) -> int:
    return len(re.findall(rf"Login: user=<{re.escape(OAUTH_USER)}>, method={method}", server.log()))


@pytest.mark.parametrize(("provider", "mechanism"), [("microsoft", "XOAUTH2"), ("google", "XOAUTH2"),
                                                     ("google", "OAUTHBEARER")])
def test_closeout_reads_the_mailbox_of_a_real_dovecot_signing_in_with_the_sandbox_providers_tokens(
        oauth_app, company, oauth_dovecot, mailbox, mail_sandbox, provider, mechanism):
    config = mailbox(oauth_provider=provider, oauth_mechanism=mechanism)
    before = logins(oauth_dovecot, mechanism)
    counts = ingest_mailbox(oauth_app, company, config)
    assert (counts.fetched, counts.matched) == (2, 2)
    assert logins(oauth_dovecot, mechanism) == before + 1
    assert stats(mail_sandbox, provider, config) == {"refreshes": 1, "refused": 0}  # the first token, no more
    assert stat.S_IMODE(token_file(oauth_app, config).stat().st_mode) == 0o600


def test_an_access_token_the_server_refuses_before_its_expiry_is_renewed_once_and_the_read_goes_on(
        oauth_app, company, mailbox, mail_sandbox, oauth_dovecot):
    config = mailbox()
    ingest_mailbox(oauth_app, company, config)
    stored = token_file(oauth_app, config).read_text()
    sandbox(mail_sandbox, "POST", "/_sandbox/ms365/token-expiry", json={"client_id": f"closeout-acme-{config.name}"})
    with IMAPClient("127.0.0.1", port=oauth_dovecot.imaps_port, ssl=True, timeout=10,
                    ssl_context=ssl.create_default_context(cafile=oauth_dovecot.ca_file)) as admin:
        admin.login(OAUTH_USER, PASSWORD)
        admin.append(config.folders[0], mail(3, "WO-1044 after the expiry"))
    refusals = refused_tokens(oauth_dovecot)
    counts = ingest_mailbox(oauth_app, company, config)  # Closeout's own clock still thinks the token is good
    assert counts.fetched == 1
    assert refused_tokens(oauth_dovecot) > refusals  # Dovecot's introspection refused the old one first
    assert stats(mail_sandbox, "microsoft", config) == {"refreshes": 2, "refused": 0}
    assert token_file(oauth_app, config).read_text() != stored  # the rotated pair is saved
    assert ingest_mailbox(oauth_app, company, config).fetched == 0
    assert stats(mail_sandbox, "microsoft", config)["refreshes"] == 2


def test_an_access_token_closeout_knows_has_expired_is_renewed_once_before_it_signs_in(
        oauth_app, company, mailbox, mail_sandbox, oauth_dovecot):
    config = mailbox()
    ingest_mailbox(oauth_app, company, config)
    path = token_file(oauth_app, config)
    path.write_text(json.dumps({**json.loads(path.read_text()), "expires_at": "2026-01-01T00:00:00+00:00"}))
    oauth_app._mail_tokens.clear()  # the next run: a new process reads the vault
    refusals = refused_tokens(oauth_dovecot)
    assert ingest_mailbox(oauth_app, company, config).fetched == 0
    assert stats(mail_sandbox, "microsoft", config) == {"refreshes": 2, "refused": 0}
    assert refused_tokens(oauth_dovecot) == refusals  # renewed before it was sent: Dovecot refused nothing


def test_a_revoked_grant_opens_a_connection_failed_case_that_names_the_reconnect_command_and_no_secret(
        oauth_app, company, mailbox, mail_sandbox, oauth_dovecot, caplog):
    caplog.set_level(logging.DEBUG)
    config = mailbox()
    ingest_mailbox(oauth_app, company, config)
    pair = json.loads(token_file(oauth_app, config).read_text())
    secrets = [pair["access_token"], pair["refresh_token"], SANDBOX_CLIENT_SECRET]
    sandbox(mail_sandbox, "POST", "/_sandbox/ms365/revoke", json={"username": OAUTH_USER})
    with pytest.raises(AuthError) as refused:
        ingest_mailbox(oauth_app, company, config)
    assert "closeout connect mailbox --company acme --mailbox " + config.name in str(refused.value)
    assert stats(mail_sandbox, "microsoft", config) == {"refreshes": 1, "refused": 1}  # renewed once, refused
    with oauth_app.store.unit_of_work() as uow:
        found = uow.cases.list(kinds=(AnomalyCode.connection_failed,), statuses=(CaseStatus.open,))
        cases = [uow.cases.get(case.id) for case in found if case.subject == f"mailbox:acme/{config.name}"]
    assert len(cases) == 1 and "refused to renew" in cases[0].summary
    written = caplog.text + str(refused.value) + repr(cases[0]) + oauth_dovecot.log()
    assert [secret for secret in secrets if secret in written] == []


def test_once_the_mailbox_is_connected_again_the_health_check_reads_it_and_closes_its_connection_failed_case(
        oauth_app, company, mailbox, mail_sandbox):
    config = mailbox()
    ingest_mailbox(oauth_app, company, config)
    sandbox(mail_sandbox, "POST", "/_sandbox/ms365/revoke", json={"username": OAUTH_USER})
    with pytest.raises(AuthError):
        ingest_mailbox(oauth_app, company, config)
    token_file(oauth_app, config).unlink()  # connecting again: the sandbox grants a new chain for the user
    oauth_app._mail_tokens.clear()
    rows = [row for row in check_company(oauth_app, company.model_copy(update={"mailboxes": (config,)}))
            if row.kind == "mailbox"]
    assert [row.problem for row in rows] == [""]
    assert len(open_outages(oauth_app, config)) == 1
    record_problems(oauth_app, rows)
    assert open_outages(oauth_app, config) == []


def open_outages(app, config: MailboxConfig) -> list:
    with app.store.unit_of_work() as uow:
        return [case for case in uow.cases.list(kinds=(AnomalyCode.connection_failed,), statuses=(CaseStatus.open,))
                if case.subject == f"mailbox:acme/{config.name}"]


def test_a_mailbox_signing_in_with_its_password_still_reads_the_oauth_dovecot(
        oauth_app, company, mailbox, monkeypatch, oauth_dovecot):
    config = mailbox(auth="password", oauth_provider=None, oauth_url="")
    monkeypatch.setenv(f"CLOSEOUT_IMAP_PASSWORD_{config.name.upper().replace('-', '_')}_ACME", PASSWORD)
    before = logins(oauth_dovecot, "PLAIN")
    assert ingest_mailbox(oauth_app, company, config).fetched == 2
    assert logins(oauth_dovecot, "PLAIN") == before + 1
    assert not token_file(oauth_app, config).exists()


def test_an_oauth2_mailbox_without_a_provider_is_one_clear_config_error():
    with pytest.raises(ValueError, match='needs oauth_provider = "microsoft" or "google"'):
        MailboxConfig(kind="imap", name="field", host="imap.example", username="u", auth="oauth2")


# ---- `closeout connect mailbox` in a child process, approved at the sandbox's consent page --------------------

CONFIG = """
[[companies]]
id = "acme"
name = "Acme Heating"
currency = "USD"
[companies.ledger]
kind = "quickbooks"
realm_id = "9130311111"
[[companies.mailboxes]]
kind = "imap"
name = "field"
host = "127.0.0.1"
port = {port}
username = "{user}"
ca_file = "{ca}"
folders = ["{folder}"]
auth = "oauth2"
oauth_provider = "{provider}"
oauth_url = "sandbox"
"""


def approve(url: str, account: str) -> str:
    """Answer the consent page as the person signing in as ``account``; the redirect is delivered; its location."""
    with httpx.Client(trust_env=False, timeout=10) as client:
        page = client.get(url)
        page.raise_for_status()
        request = re.search(r"name='request' value='([^']+)'", page.text).group(1)
        answer = client.post(url.split("?")[0], content=urlencode(
            {"request": request, "decision": "approve", "account": account}),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 302, answer.text
        client.get(answer.headers["location"])
        return answer.headers["location"]


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_closeout_connect_mailbox_takes_the_first_tokens_from_the_consent_and_proves_them_on_dovecot(
        workspace, mail_sandbox, oauth_dovecot, seeded, provider):
    workspace.mkdir(parents=True, exist_ok=True)
    config = workspace / "closeout.toml"
    config.write_text(CONFIG.format(port=oauth_dovecot.imaps_port, user=OAUTH_USER, ca=oauth_dovecot.ca_file,
                                    folder=seeded, provider=provider), encoding="utf-8")
    env = cli_env(workspace, mail_sandbox)
    port = _free_port()
    child = subprocess.Popen([CLOSEOUT, "connect", "mailbox", "--company", "acme", "--mailbox", "field",
                              "--no-browser", "--port", str(port), "--config", str(config)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                             env=env)
    lines, asked = [], ""
    try:
        for line in child.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("http"):
                asked = line.strip()
                approve(asked, OAUTH_USER)
        assert child.wait(timeout=120) == 0, lines
    finally:
        if child.poll() is None:
            child.kill()
    query = parse_qs(urlsplit(asked).query)
    assert query["login_hint"] == [OAUTH_USER] and query["code_challenge_method"] == ["S256"] and query["state"]
    if provider == "microsoft":
        assert urlsplit(asked).path == "/organizations/oauth2/v2.0/authorize"
        assert query["scope"] == ["https://outlook.office.com/IMAP.AccessAsUser.All offline_access"]
    else:
        assert urlsplit(asked).path == "/o/oauth2/v2/auth" and query["access_type"] == ["offline"]
        assert query["scope"] == ["https://mail.google.com/"]
    assert lines[-1].startswith(f"connected acme's mailbox field ({OAUTH_USER} at 127.0.0.1, XOAUTH2): {seeded} read, "
                                "newest message "), lines
    assert stats(mail_sandbox, provider, MailboxConfig(kind="imap", name="field", host="h", username="u")) == {
        "refreshes": 0, "refused": 0}  # the code's own tokens signed in: no refresh needed
    vault = workspace / "tokens" / "acme-imap-field.json"
    assert stat.S_IMODE(vault.stat().st_mode) == 0o600
    secret = json.loads(vault.read_text())["refresh_token"]
    assert not any(secret in line for line in lines)
    code, said = run_closeout(["disconnect", "mailbox", "--company", "acme", "--config", str(config)], env)
    assert code == 0 and said[-1].startswith("disconnected acme's mailbox field: tokens removed from the workspace "
                                             "file "), said
    assert "disconnected_at" in json.loads(vault.read_text())


def test_connect_mailbox_for_a_mailbox_the_config_lacks_or_that_uses_a_password_is_one_line_and_exit_2(
        workspace, mail_sandbox, oauth_dovecot, seeded):
    workspace.mkdir(parents=True, exist_ok=True)
    config = workspace / "closeout.toml"
    config.write_text(CONFIG.format(port=oauth_dovecot.imaps_port, user=OAUTH_USER, ca=oauth_dovecot.ca_file,
                                    folder=seeded, provider="microsoft").replace('auth = "oauth2"', 'auth = "password"'),
                      encoding="utf-8")
    env = cli_env(workspace, mail_sandbox)
    code, said = run_closeout(["connect", "mailbox", "--company", "acme", "--mailbox", "nope", "--config",
                               str(config)], env)
    assert code == 2 and said == ["error: company 'acme' has no mailbox named 'nope'"]
    code, said = run_closeout(["connect", "mailbox", "--company", "acme", "--config", str(config)], env)
    assert code == 2 and said == ["error: company 'acme' has no OAuth2 mailbox (auth = \"oauth2\" under "
                                  "[[companies.mailboxes]])"]


def cli_env(workspace: Path, sandbox_url: str) -> dict[str, str]:
    """The child's environment: this workspace, the test's sandbox (the one Dovecot asks), no browser."""
    env = {**os.environ, "CLOSEOUT_HOME": str(workspace), "CLOSEOUT_SANDBOX_URL": sandbox_url, "COLUMNS": "200",
           "NO_COLOR": "1"}
    for name in ("CLOSEOUT_DATABASE_URL", "CLOSEOUT_CONFIG", "PREFECT_API_URL", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    return env


def run_closeout(args: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
    done = subprocess.run([CLOSEOUT, *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                          timeout=120)
    return done.returncode, [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
