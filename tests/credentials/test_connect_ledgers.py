"""`closeout connect` for QuickBooks Online and Xero against the sandbox's authorize endpoints, called directly with a
"browser" that answers the consent page over HTTP: tokens land where the refresher reads them, an invoice goes out
on them, a refresh works, disconnect revokes; every failure stores nothing."""

from __future__ import annotations

import json
import socket
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oauth_consent_kit import OTHER_REALM, OTHER_TENANT, REALM, TENANT, ConsentBrowser, code_of, free_port, \
    with_param, write_config

from closeout.credentials.connect import ConnectError, connect, disconnect, resolve
from closeout.credentials.ledger_tokens import SANDBOX_CLIENT_SECRET
from closeout.settings import Settings
from closeout.wiring import open_app
from connectors.errors import AuthError
from connectors.oauth import LedgerTokenRefresher
from services.config import MissingSecretError
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch

SYSTEM = {"quickbooks": "qbo", "xero": "xero"}
COMPANY = {"quickbooks": "acme", "xero": "kiwi"}
TOKEN_PATH = {"quickbooks": "/oauth2/v1/tokens/bearer", "xero": "/connect/token"}


@pytest.fixture
def app(workspace):
    with open_app(settings=Settings(), config_path=write_config(workspace)) as application:
        yield application


def _chosen(kind: str, company: str | None = None) -> dict[str, list[str]]:
    if kind == "quickbooks":
        return {"realm_id": [company or REALM]}
    return {"tenant": [company or TENANT]}


def _run(app, kind: str, browser: ConsentBrowser, **options) -> str:
    target = resolve(app, kind, COMPANY[kind])
    return connect(target, port=free_port(), open_browser=browser, timeout=20, say=lambda line: None, **options)


def _stats(app, kind: str) -> dict[str, int]:
    return httpx.get(f"{app.sandbox_url}/_sandbox/{SYSTEM[kind]}/token-stats", trust_env=False,
                     params={"client_id": f"closeout-{COMPANY[kind]}"}).json()


def _token_file(app, kind: str):
    return app.home / "tokens" / f"{COMPANY[kind]}-{kind}.json"


def _push_one(app, kind: str):
    company = app.config.company(COMPANY[kind])
    pull_source(app, company, company.sources[0])
    while prepare_batch(app, run_id="connect").evaluated:
        pass
    return push_batch(app, company)


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_a_connected_ledger_gets_its_invoice_on_the_new_tokens_refreshes_and_after_disconnect_is_refused(app, kind):
    browser = ConsentBrowser(choose=_chosen(kind))
    line = _run(app, kind, browser)
    assert browser.errors == []
    assert line.startswith(f"connected {COMPANY[kind]} to ")
    assert ("Sandbox Company 9130311111" if kind == "quickbooks" else "Closeout Sandbox NZ Ltd") in line
    saved = json.loads(_token_file(app, kind).read_text())
    assert saved["refresh_token"] and saved["access_token"] and _token_file(app, kind).stat().st_mode & 0o777 == 0o600
    redirect = parse_qs(urlsplit(browser.redirects[0]).query)
    assert (redirect.get("realmId") == [REALM]) if kind == "quickbooks" else "realmId" not in redirect

    assert _push_one(app, kind).pushed == 1
    assert _stats(app, kind) == {"refreshes": 0, "refused": 0}  # the invoice went out on the connected pair

    httpx.post(f"{app.sandbox_url}/_sandbox/{SYSTEM[kind]}/token-expiry", trust_env=False,
               json={"client_id": f"closeout-{COMPANY[kind]}"}).raise_for_status()
    ledger = app.ledger_for(app.config.company(COMPANY[kind]))
    assert ledger.find_customers(name="Nobody", email=None) == []
    assert _stats(app, kind) == {"refreshes": 1, "refused": 0}
    rotated = json.loads(_token_file(app, kind).read_text())
    assert rotated["refresh_token"] != saved["refresh_token"]

    said = disconnect(resolve(app, kind, COMPANY[kind]))
    assert said.startswith(f"disconnected {COMPANY[kind]}'s {kind} connection") and "revoked" in said
    refresher = LedgerTokenRefresher(client=httpx.Client(trust_env=False), system=kind,
                                     client_id=f"closeout-{COMPANY[kind]}", client_secret=SANDBOX_CLIENT_SECRET,
                                     token_url=app.sandbox_url + TOKEN_PATH[kind])
    with pytest.raises(AuthError) as refused:
        refresher.refresh(rotated["refresh_token"])
    assert refused.value.code == "invalid_grant"
    with pytest.raises(AuthError):  # the revoked access token gets a 401, and the vault no longer gives a new one
        ledger.find_customers(name="Nobody", email=None)
    stored = json.loads(_token_file(app, kind).read_text())
    assert set(stored) == {"disconnected_at"}
    target = resolve(app, kind, COMPANY[kind])
    with pytest.raises(MissingSecretError, match="closeout connect"):
        target.vault.load()  # not a silent new grant from the sandbox
    assert disconnect(target).endswith("holds no tokens: nothing to revoke")


def test_xero_is_asked_with_a_pkce_s256_challenge_and_quickbooks_without_one(app):
    browser = ConsentBrowser(choose=_chosen("xero"))
    _run(app, "xero", browser)
    asked = parse_qs(urlsplit(browser.opened[0]).query)
    assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) == 43
    assert asked["scope"][0].split()[0] == "offline_access" and len(asked["state"][0]) >= 43
    qbo = ConsentBrowser(choose=_chosen("quickbooks"))
    _run(app, "quickbooks", qbo)
    asked = parse_qs(urlsplit(qbo.opened[0]).query)
    assert "code_challenge" not in asked and asked["scope"] == ["com.intuit.quickbooks.accounting"]
    assert asked["redirect_uri"][0].startswith("http://localhost:") and asked["redirect_uri"][0].endswith("/callback")


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_an_answer_whose_state_is_not_ours_is_refused_and_nothing_is_stored(app, kind):
    browser = ConsentBrowser(choose=_chosen(kind),
                             before_callback=lambda location: with_param(location, state="forged"))
    with pytest.raises(ConnectError) as refused:
        _run(app, kind, browser)
    assert refused.value.code == "state_mismatch" and "nothing was stored" in str(refused.value)
    assert not _token_file(app, kind).exists()


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_a_denied_consent_is_one_refusal_and_nothing_is_stored(app, kind):
    browser = ConsentBrowser(decision="deny")
    with pytest.raises(ConnectError) as refused:
        _run(app, kind, browser)
    assert refused.value.code == "access_denied"
    provider = "Intuit" if kind == "quickbooks" else "Xero"
    assert str(refused.value) == f"{kind} connect: access was denied at {provider}'s consent page: nothing was stored"
    assert parse_qs(urlsplit(browser.redirects[0]).query)["error"] == ["access_denied"]
    assert not _token_file(app, kind).exists()


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_a_code_used_before_closeout_could_is_refused_as_invalid_grant(app, kind):
    stolen: list[httpx.Response] = []

    def use_it_first(location: str) -> str:
        form = {"grant_type": "authorization_code", "code": code_of(location),
                "redirect_uri": parse_qs(urlsplit(browser.opened[0]).query)["redirect_uri"][0]}
        stolen.append(httpx.post(app.sandbox_url + TOKEN_PATH[kind], data=form, trust_env=False,
                                 auth=(f"closeout-{COMPANY[kind]}", SANDBOX_CLIENT_SECRET)))
        return location

    browser = ConsentBrowser(choose=_chosen(kind), before_callback=use_it_first)
    with pytest.raises(AuthError) as refused:
        _run(app, kind, browser)
    assert refused.value.code == "invalid_grant" and refused.value.operation == "exchange code"
    assert code_of(browser.redirects[0]) not in str(refused.value)
    if kind == "quickbooks":
        assert stolen[0].status_code == 200  # the thief (no PKCE) got it first; Closeout's use is the replay
    else:
        assert stolen[0].status_code == 400  # Xero's PKCE: without the verifier the stolen code is worthless
    assert not _token_file(app, kind).exists()


def test_quickbooks_refuses_a_company_other_than_the_configured_realm_before_any_token_is_issued(app):
    browser = ConsentBrowser(choose=_chosen("quickbooks", OTHER_REALM))
    with pytest.raises(ConnectError) as refused:
        _run(app, "quickbooks", browser)
    message = str(refused.value)
    assert refused.value.code == "wrong_realm" and OTHER_REALM in message and f'realm_id = "{OTHER_REALM}"' in message
    assert _stats(app, "quickbooks") == {"refreshes": 0, "refused": 0} and not _token_file(app, "quickbooks").exists()
    reuse = httpx.post(app.sandbox_url + TOKEN_PATH["quickbooks"], trust_env=False,
                       auth=("closeout-acme", SANDBOX_CLIENT_SECRET),
                       data={"grant_type": "authorization_code", "code": code_of(browser.redirects[0]),
                             "redirect_uri": parse_qs(urlsplit(browser.opened[0]).query)["redirect_uri"][0]})
    assert reuse.status_code == 200  # never exchanged by Closeout: the wrong company got no token from it


def test_xero_with_several_organisations_needs_a_choice_and_refuses_one_other_than_the_config(app):
    both = {"tenant": [OTHER_TENANT, TENANT]}
    with pytest.raises(ConnectError) as several:
        _run(app, "xero", ConsentBrowser(choose=both))
    assert several.value.code == "several_tenants" and TENANT in str(several.value)
    with pytest.raises(ConnectError) as other:
        _run(app, "xero", ConsentBrowser(choose=both), tenant=OTHER_TENANT)
    assert other.value.code == "wrong_tenant" and f'tenant_id = "{OTHER_TENANT}"' in str(other.value)
    assert not _token_file(app, "xero").exists()
    asked: list = []
    line = _run(app, "xero", ConsentBrowser(choose=both),
                choose_tenant=lambda connected: asked.append(connected) or TENANT)
    assert {ident for ident, _ in asked[0]} == {TENANT, OTHER_TENANT} and f"(tenant {TENANT})" in line
    assert _run(app, "xero", ConsentBrowser(choose=both), tenant=TENANT).startswith("connected kiwi")


def test_a_taken_port_fails_before_the_browser_opens(app):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        browser = ConsentBrowser(choose=_chosen("quickbooks"))
        with pytest.raises(ConnectError) as refused:
            connect(resolve(app, "quickbooks", "acme"), port=taken.getsockname()[1], open_browser=browser,
                    timeout=5, say=lambda line: None)
    assert refused.value.code == "port_taken" and "--port" in str(refused.value)
    assert browser.opened == []


def test_no_answer_within_the_timeout_says_what_to_check(app):
    said: list[str] = []
    with pytest.raises(ConnectError) as refused:
        connect(resolve(app, "quickbooks", "acme"), port=free_port(), open_browser=None, timeout=0.3, say=said.append)
    assert refused.value.code == "timeout" and "redirect URI is http://localhost:" in str(refused.value)
    assert said[1].startswith(f"{app.sandbox_url}/connect/oauth2?response_type=code&client_id=closeout-acme")


def test_the_listener_takes_one_callback_then_a_second_finds_nobody(app):
    browser = ConsentBrowser(choose=_chosen("quickbooks"))
    _run(app, "quickbooks", browser)
    with pytest.raises(httpx.ConnectError):
        httpx.get(browser.redirects[0].replace("://localhost:", "://127.0.0.1:"), trust_env=False, timeout=2)
