"""An OAuth2 mailbox on the admin's Connections page: refused while its connection_failed case is open, Reconnect
runs `closeout connect mailbox`'s flow through the web app's callback, the first sign-in on a real Dovecot (oauth2
passdb asking the sandbox) proves it, and the case closes."""

from __future__ import annotations

import os
import re
import ssl
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from imapclient import IMAPClient

from closeout.credentials.web_connect import WorkspaceConnections
from closeout.settings import Settings
from closeout.wiring import open_app
from dovecot_oauth_server import OAUTH_USER, DovecotOAuthServer
from dovecot_server import DOVECOT, PASSWORD
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.service import CaseQueue
from exceptions_queue.users import Role
from exceptions_queue.web import create_app
from mail_factory import mail
from sandbox.server import running_sandbox
from services.casework import StoreDesk
from services.users import add_user
from workorders.anomalies import Anomaly

UI_PASSWORD = "a long enough password"
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
oauth_provider = "microsoft"
oauth_url = "sandbox"
"""


@pytest.fixture(scope="module")
def mail_sandbox():
    with tempfile.TemporaryDirectory(prefix="cmw-") as state, running_sandbox(Path(state)) as url:
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
def app(workspace, mail_sandbox, oauth_dovecot):
    client = IMAPClient("127.0.0.1", port=oauth_dovecot.imaps_port, ssl=True, timeout=10,
                        ssl_context=ssl.create_default_context(cafile=oauth_dovecot.ca_file))
    client.login(OAUTH_USER, PASSWORD)
    folder = f"W{os.getpid()}"
    client.create_folder(folder)
    client.multiappend(folder, [mail(1, "WO-1042 gauges")])
    client.logout()
    workspace.mkdir(parents=True, exist_ok=True)
    config = workspace / "closeout.toml"
    config.write_text(CONFIG.format(port=oauth_dovecot.imaps_port, user=OAUTH_USER, ca=oauth_dovecot.ca_file,
                                    folder=folder), encoding="utf-8")
    settings = Settings(home=workspace, sandbox_url=mail_sandbox, database_url=None, config=None)
    with open_app(settings=settings, config_path=config) as application:
        add_user(application.store, "ada", Role.admin, UI_PASSWORD, actor="test")
        yield application


def _csrf(client: TestClient, path: str) -> str:
    return client.get(path).text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _state(client: TestClient) -> str:
    return re.search(r'id="link-acme-mailbox-field" data-state="(\w+)"', client.get("/connections").text).group(1)


def test_a_refused_oauth_mailbox_is_reconnected_from_the_page_and_its_case_closes(app, mail_sandbox):
    with app.store.unit_of_work() as uow:
        case, _ = CaseQueue(uow.cases).open_case(Anomaly(
            code=CaseKind.connection_failed, subject="mailbox:acme/field", company="acme",
            summary="Acme Heating: the mailbox 'field' could not be used in this run (refused to renew)",
            evidence={"component": "acme/mailbox:field", "problem": "failed", "detail": "AuthError"}))
        uow.commit()
    web = create_app(StoreDesk(app), secret_key="mailbox-connections", connections=WorkspaceConnections(app))
    client = TestClient(web, follow_redirects=False)
    client.post("/login", data={"username": "ada", "password": UI_PASSWORD, "csrf_token": _csrf(client, "/login"),
                                "next": "/"})
    assert _state(client) == "refused"
    started = client.post("/connections/connect", data={"csrf_token": _csrf(client, "/connections"),
                                                        "company": "acme", "system": "mailbox", "source": "field"})
    authorize = started.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(mail_sandbox) and query["login_hint"] == [OAUTH_USER]
    assert query["redirect_uri"] == ["http://testserver/connections/callback/mailbox"]
    assert query["code_challenge_method"] == ["S256"]
    with httpx.Client(trust_env=False, timeout=10) as browser:
        page = browser.get(authorize)
        request = re.search(r"name='request' value='([^']+)'", page.text).group(1)
        answer = browser.post(authorize.split("?")[0], content=urlencode(
            {"request": request, "decision": "approve", "account": OAUTH_USER}),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
    client.get(answer.headers["location"])
    shown = client.get("/connections").text
    assert re.search(r'<p class="flash ok" role="status">connected acme&#39;s mailbox field \(', shown), shown
    assert _state(client) == "connected"
    assert (app.home / "tokens" / "acme-imap-field.json").exists()
    with app.store.unit_of_work() as uow:
        assert uow.cases.get(case.id).status is CaseStatus.resolved
