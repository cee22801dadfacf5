"""The admin's Connections page over the real sandbox: each connection's state, and Connect / Reconnect running the
authorization-code flow through the web app's own callback route (state bound to the session, codes used once)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from oauth_consent_kit import REALM, TENANT, code_of, write_config

from closeout.credentials.ledger_tokens import SANDBOX_CLIENT_SECRET
from closeout.credentials.web_connect import WorkspaceConnections
from closeout.settings import Settings
from closeout.wiring import open_app
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.service import CaseQueue
from exceptions_queue.users import Role
from exceptions_queue.web import create_app
from services.casework import StoreDesk
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from services.users import add_user
from workorders.anomalies import Anomaly

PASSWORD = "a long enough password"
COMPANY = {"quickbooks": "acme", "xero": "kiwi"}
CHOICE = {"quickbooks": {"realm_id": [REALM]}, "xero": {"tenant": [TENANT]}}
TOKEN_PATH = {"quickbooks": "/oauth2/v1/tokens/bearer", "xero": "/connect/token"}


@pytest.fixture
def app(workspace):
    with open_app(settings=Settings(), config_path=write_config(workspace)) as application:
        for name, role in (("ada", Role.admin), ("abe", Role.admin), ("dana", Role.coordinator),
                           ("vic", Role.viewer), ("fin", Role.finance)):
            add_user(application.store, name, role, PASSWORD, actor="test")
        yield application


@pytest.fixture
def web(app):
    return create_app(StoreDesk(app), secret_key="connections-test", connections=WorkspaceConnections(app))


def signed_in(web, username: str) -> TestClient:
    client = TestClient(web, follow_redirects=False)
    form = {"username": username, "password": PASSWORD, "csrf_token": _csrf(client, "/login"), "next": "/"}
    assert client.post("/login", data=form).status_code == 303
    return client


def _csrf(client: TestClient, path: str = "/connections") -> str:
    return client.get(path).text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def start(client: TestClient, kind: str):
    return client.post("/connections/connect", data={"csrf_token": _csrf(client), "company": COMPANY[kind],
                                                     "system": kind})


def approve(url: str, choose: dict[str, list[str]]) -> str:
    """What a person does on the sandbox's consent page: approve the company; answers the redirect's address."""
    with httpx.Client(trust_env=False, timeout=10) as browser:
        page = browser.get(url)
        request_id = re.search(r"name='request' value='([^']+)'", page.text).group(1)
        form = [("request", request_id), ("decision", "approve")]
        form += [(name, value) for name, values in choose.items() for value in values]
        answer = browser.post(url.split("?")[0], content=urlencode(form),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def flashes(client: TestClient) -> list[tuple[str, str]]:
    page = client.get("/connections").text
    return re.findall(r'<p class="flash (\w+)" role="status">([^<]*)</p>', page)


def row_state(client: TestClient, company: str, role: str, name: str) -> str:
    page = client.get("/connections").text
    return re.search(rf'id="link-{company}-{role}-{name}" data-state="(\w+)"', page).group(1)


def form_action(page) -> list[str]:
    """The sources of the page's CSP form-action directive: where its forms' answers may lead the browser."""
    directive = next(d for d in page.headers["content-security-policy"].split(";") if d.split()[0] == "form-action")
    return directive.split()[1:]


def token_file(app, kind: str):
    return app.home / "tokens" / f"{COMPANY[kind]}-{kind}.json"


def _push_one(app, kind: str):
    company = app.config.company(COMPANY[kind])
    pull_source(app, company, company.sources[0])
    while prepare_batch(app, run_id="connections-page").evaluated:
        pass
    return push_batch(app, company)


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_an_admin_connects_from_the_page_and_an_invoice_goes_out_on_the_new_tokens(app, web, kind):
    client = signed_in(web, "ada")
    assert row_state(client, COMPANY[kind], "ledger", kind) == "not_connected"
    started = start(client, kind)
    assert started.status_code == 303
    authorize = started.headers["location"]
    assert authorize.startswith(app.sandbox_url)
    query = parse_qs(urlsplit(authorize).query)
    assert query["redirect_uri"] == [f"http://testserver/connections/callback/{kind}"]
    assert ("code_challenge" in query) == (kind == "xero")  # PKCE where the provider documents it, as the CLI
    callback = client.get(approve(authorize, CHOICE[kind]))
    assert callback.status_code == 303 and callback.headers["location"] == "/connections"
    [(level, text)] = flashes(client)
    assert level == "ok" and text.startswith(f"connected {COMPANY[kind]} to ")
    stored = json.loads(token_file(app, kind).read_text())
    assert stored["access_token"] and stored["refresh_token"]
    assert row_state(client, COMPANY[kind], "ledger", kind) == "connected"
    assert re.search(r"expires in \d+ days", client.get("/connections").text)
    step = _push_one(app, kind)
    assert step.pushed == 1 and step.rejected == step.uncertain == 0


def test_a_callback_whose_state_is_not_the_sessions_is_refused_and_nothing_is_stored(app, web):
    client = signed_in(web, "ada")
    location = approve(start(client, "quickbooks").headers["location"], CHOICE["quickbooks"])
    forged = location.replace("state=", "state=forged")
    assert client.get(forged).headers["location"] == "/connections"
    [(level, text)] = flashes(client)
    assert level == "error" and "nothing was stored" in text
    assert code_of(location) not in text
    assert not token_file(app, "quickbooks").exists()
    # the request in flight was taken by that answer: the real one, arriving after, finds nothing to finish
    client.get(location)
    assert flashes(client)[0][0] == "error" and not token_file(app, "quickbooks").exists()


def test_a_callback_in_another_admins_session_is_refused(app, web):
    ada, abe = signed_in(web, "ada"), signed_in(web, "abe")
    location = approve(start(ada, "quickbooks").headers["location"], CHOICE["quickbooks"])
    abe.get(location)
    assert flashes(abe)[0][0] == "error" and not token_file(app, "quickbooks").exists()


def test_a_replayed_callback_is_refused_and_keeps_the_tokens_it_gave(app, web):
    client = signed_in(web, "ada")
    location = approve(start(client, "xero").headers["location"], CHOICE["xero"])
    client.get(location)
    assert flashes(client)[0][0] == "ok"
    kept = token_file(app, "xero").read_text()
    client.get(location)  # the same redirect again: a reload, a back button, or someone who saw the address
    [(level, text)] = flashes(client)
    assert level == "error" and "does not match a connection started" in text
    assert token_file(app, "xero").read_text() == kept


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_a_code_used_before_the_callback_is_refused_as_invalid_grant_and_nothing_is_stored(app, web, kind):
    client = signed_in(web, "ada")
    authorize = start(client, kind).headers["location"]
    location = approve(authorize, CHOICE[kind])
    form = {"grant_type": "authorization_code", "code": code_of(location),
            "redirect_uri": parse_qs(urlsplit(authorize).query)["redirect_uri"][0]}
    httpx.post(app.sandbox_url + TOKEN_PATH[kind], data=form, trust_env=False,
               auth=(f"closeout-{COMPANY[kind]}", SANDBOX_CLIENT_SECRET))
    client.get(location)
    [(level, text)] = flashes(client)
    assert level == "error" and "invalid_grant" in text and code_of(location) not in text
    assert not token_file(app, kind).exists()


def test_a_denied_consent_is_a_red_flash_and_nothing_is_stored(app, web):
    client = signed_in(web, "ada")
    authorize = start(client, "quickbooks").headers["location"]
    with httpx.Client(trust_env=False, timeout=10) as browser:
        page = browser.get(authorize)
        request_id = re.search(r"name='request' value='([^']+)'", page.text).group(1)
        denied = browser.post(authorize.split("?")[0], data={"request": request_id, "decision": "deny"})
    client.get(denied.headers["location"])
    [(level, text)] = flashes(client)
    assert level == "error" and "denied" in text
    assert not token_file(app, "quickbooks").exists()


def test_a_refused_ledger_shows_as_refused_with_its_case_and_a_reconnect_closes_that_case(app, web):
    with app.store.unit_of_work() as uow:
        case, _ = CaseQueue(uow.cases).open_case(Anomaly(
            code=CaseKind.ledger_refresh_failed, subject="acme:quickbooks", company="acme",
            summary="quickbooks refused to renew Closeout's access for acme (invalid_grant)",
            evidence={"ledger": "quickbooks", "error": "invalid_grant"}, suggested_actions=("reconnect_ledger",)))
        uow.commit()
    client = signed_in(web, "ada")
    page = client.get("/connections").text
    assert row_state(client, "acme", "ledger", "quickbooks") == "refused"
    assert f'href="/cases/{case.id}"' in page and "Reconnect" in page
    assert row_state(client, "acme", "source", "csv-acme") == "not_needed"
    client.get(approve(start(client, "quickbooks").headers["location"], CHOICE["quickbooks"]))
    assert row_state(client, "acme", "ledger", "quickbooks") == "connected"
    with app.store.unit_of_work() as uow:
        closed = uow.cases.get(case.id)
    assert closed.status is CaseStatus.resolved and "by ada" in closed.history[-1].note


def test_the_page_lets_its_form_lead_to_the_providers_authorize_page_and_nowhere_else(app, web):
    page = signed_in(web, "ada").get("/connections")
    assert form_action(page) == ["'self'", app.sandbox_url]
    assert "script-src" not in page.headers["content-security-policy"]
    assert form_action(signed_in(web, "ada").get("/")) == ["'self'"]  # the other pages keep theirs


@pytest.mark.parametrize("username", ["dana", "vic", "fin"])
def test_only_admins_reach_the_connections_routes(app, web, username):
    admin = signed_in(web, "ada")
    location = approve(start(admin, "quickbooks").headers["location"], CHOICE["quickbooks"])
    client = signed_in(web, username)
    assert client.get("/connections").status_code == 403
    assert client.post("/connections/connect", data={"csrf_token": _csrf(client, "/"), "company": "acme",
                                                     "system": "quickbooks"}).status_code == 403
    assert client.get(location).status_code == 403
    assert "/connections" not in client.get("/").text  # no link to it in the navigation either
    assert not token_file(app, "quickbooks").exists()
    anonymous = TestClient(web, follow_redirects=False)
    assert anonymous.get("/connections").headers["location"].startswith("/login")
    assert anonymous.post("/connections/connect", data={"company": "acme", "system": "quickbooks"}).status_code == 401


def test_a_connect_without_the_forms_csrf_token_is_refused(app, web):
    client = signed_in(web, "ada")
    refused = client.post("/connections/connect", data={"company": "acme", "system": "quickbooks"})
    assert refused.status_code == 403 and "location" not in refused.headers


def test_an_admin_connects_a_jobber_source_from_the_page_and_its_secret_never_shows(workspace, monkeypatch):
    from oauth_consent_kit import JOBBER_SECRET, running_fake_jobber

    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_ID_ACME", "jobber-app-id")
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_SECRET_ACME", JOBBER_SECRET)
    monkeypatch.delenv("CLOSEOUT_JOBBER_REFRESH_TOKEN_ACME", raising=False)
    with running_fake_jobber() as url, open_app(settings=Settings(), config_path=write_config(
            workspace, jobber_url=url)) as app:
        add_user(app.store, "ada", Role.admin, PASSWORD, actor="test")
        web = create_app(StoreDesk(app), secret_key="connections-test", connections=WorkspaceConnections(app))
        client = signed_in(web, "ada")
        assert row_state(client, "acme", "source", "jobber") == "not_connected"
        assert url in form_action(client.get("/connections"))  # the consent page is the fake Jobber's
        started = client.post("/connections/connect", data={"csrf_token": _csrf(client), "company": "acme",
                                                            "system": "jobber", "source": "jobber"})
        assert started.headers["location"].startswith(f"{url}/api/oauth/authorize?")
        client.get(approve(started.headers["location"], {}))
        [(level, text)] = flashes(client)
        assert level == "ok" and text.startswith("connected acme to Jobber account")
        assert row_state(client, "acme", "source", "jobber") == "connected"
        assert JOBBER_SECRET not in client.get("/connections").text
        company = app.config.company("acme")
        source = next(s for s in company.sources if s.kind == "jobber")
        assert pull_source(app, company, source).pulled == 7


def test_a_ledger_reconnected_in_a_terminal_shows_connected_and_names_the_older_refusal_case(app, web):
    from oauth_consent_kit import ConsentBrowser, free_port

    from closeout.credentials.connect import connect, resolve

    with app.store.unit_of_work() as uow:
        case, _ = CaseQueue(uow.cases).open_case(Anomaly(
            code=CaseKind.connection_failed, subject="health:kiwi/ledger:xero", company="kiwi",
            summary="Kiwi Sparks: the ledger 'xero' could not be used in this run",
            evidence={"component": "kiwi/ledger:xero", "problem": "failed", "detail": "AuthError"}))
        uow.commit()
    client = signed_in(web, "ada")
    assert row_state(client, "kiwi", "ledger", "xero") == "refused"
    connect(resolve(app, "xero", "kiwi"), port=free_port(), open_browser=ConsentBrowser(choose=CHOICE["xero"]),
            timeout=20, say=lambda line: None)  # what `closeout connect xero --company kiwi` runs
    assert row_state(client, "kiwi", "ledger", "xero") == "connected"
    assert "older than these tokens: resolve it" in client.get("/connections").text


def disconnect(client: TestClient, kind: str, **more: str):
    return client.post("/connections/disconnect", data={"csrf_token": _csrf(client), "company": COMPANY[kind],
                                                        "system": kind, **more})


def disconnections(app) -> list:
    with app.store.unit_of_work() as uow:
        return [entry for entry in uow.audit.recent(limit=100) if entry.action == "connection_disconnected"]


def _refresh_answer(app, kind: str, refresh_token: str) -> int:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return httpx.post(app.sandbox_url + TOKEN_PATH[kind], data=form, trust_env=False,
                      auth=(f"closeout-{COMPANY[kind]}", SANDBOX_CLIENT_SECRET)).status_code


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_an_admin_disconnects_a_ledger_after_confirming_and_its_token_is_revoked_removed_and_audited(app, web, kind):
    client = signed_in(web, "ada")
    client.get(approve(start(client, kind).headers["location"], CHOICE[kind]))
    assert row_state(client, COMPANY[kind], "ledger", kind) == "connected"
    assert 'action="/connections/disconnect"' in client.get("/connections").text
    refresh_token = json.loads(token_file(app, kind).read_text())["refresh_token"]
    asked = disconnect(client, kind)  # the row's button only asks
    assert asked.status_code == 200 and 'id="confirm-disconnect"' in asked.text
    assert 'name="confirm" value="yes"' in asked.text and "Keep it connected" in asked.text
    assert json.loads(token_file(app, kind).read_text())["refresh_token"] == refresh_token
    assert disconnections(app) == []
    done = disconnect(client, kind, confirm="yes")
    assert done.status_code == 303 and done.headers["location"] == "/connections"
    [(level, text)] = flashes(client)
    assert level == "ok" and text.startswith(f"disconnected {COMPANY[kind]}&#39;s {kind} connection: ")
    assert "revoked the refresh token" in text
    assert "disconnected_at" in json.loads(token_file(app, kind).read_text())
    assert row_state(client, COMPANY[kind], "ledger", kind) == "not_connected"
    assert _refresh_answer(app, kind, refresh_token) == 400  # the provider no longer honours it
    [entry] = disconnections(app)
    assert (entry.actor, entry.subject) == ("ada", f"{COMPANY[kind]}/ledger:{kind}")
    assert entry.note.startswith(f"disconnected {COMPANY[kind]}'s {kind} connection") and refresh_token not in entry.note


def test_a_connection_that_holds_no_tokens_offers_no_disconnect_and_a_forged_one_changes_nothing(app, web):
    client = signed_in(web, "ada")
    assert row_state(client, "acme", "ledger", "quickbooks") == "not_connected"
    assert 'action="/connections/disconnect"' not in client.get("/connections").text
    for form in ({"company": "acme", "system": "quickbooks", "confirm": "yes"},
                 {"company": "nowhere", "system": "quickbooks", "confirm": "yes"},
                 {"company": "acme", "system": "csv", "source": "csv-acme", "confirm": "yes"}):
        answer = client.post("/connections/disconnect", data={"csrf_token": _csrf(client), **form})
        assert answer.status_code == 303
        [(level, text)] = flashes(client)
        assert level == "error" and "Choose a connected connection" in text
    assert disconnections(app) == []


@pytest.mark.parametrize("username", ["dana", "vic", "fin"])
def test_only_an_admin_with_the_forms_csrf_token_disconnects(app, web, username):
    admin = signed_in(web, "ada")
    admin.get(approve(start(admin, "xero").headers["location"], CHOICE["xero"]))
    kept = token_file(app, "xero").read_text()
    client = signed_in(web, username)
    assert client.post("/connections/disconnect", data={"csrf_token": _csrf(client, "/"), "company": "kiwi",
                                                        "system": "xero", "confirm": "yes"}).status_code == 403
    refused = admin.post("/connections/disconnect", data={"company": "kiwi", "system": "xero", "confirm": "yes"})
    assert refused.status_code == 403 and "location" not in refused.headers
    assert token_file(app, "xero").read_text() == kept and disconnections(app) == []
    assert row_state(admin, "kiwi", "ledger", "xero") == "connected"
