"""The sandbox plays Intuit's and Xero's authorization servers: consent, single-use short-lived codes bound to their
redirect URI (and PKCE verifier), Xero's /connections, revocation that ends the whole chain."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError

from connectors.oauth import new_pkce
from sandbox import consent as consent_module
from sandbox.server import running_sandbox

REDIRECT = "http://localhost:9/callback"
QBO_SCOPE = "com.intuit.quickbooks.accounting"


@pytest.fixture
def sandbox(tmp_path):
    with running_sandbox(tmp_path) as url, httpx.Client(base_url=url, trust_env=False) as client:
        yield client


def _approve(client: httpx.Client, path: str, *, decision: str = "approve", redirect_uri: str = REDIRECT,
             **query: str) -> httpx.Response:
    params = {"response_type": "code", "client_id": "app-1", "redirect_uri": redirect_uri, "state": "st-1", **query}
    page = client.get(path, params=params)
    assert page.status_code == 200, page.text
    ident = re.search(r"name='request' value='([^']+)'", page.text).group(1)
    form = [("request", ident), ("decision", decision)]
    form += [("realm_id", "9130311111")] if path == "/connect/oauth2" else [("tenant", "t-one"), ("tenant", "t-two")]
    return client.post(path, content=urlencode(form), headers={"Content-Type": "application/x-www-form-urlencoded"})


def _redirect(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 302
    return {key: values[0] for key, values in parse_qs(urlsplit(answer.headers["location"]).query).items()}


def _exchange(client: httpx.Client, path: str, code: str, *, redirect_uri: str = REDIRECT, **extra: str):
    return client.post(path, auth=("app-1", "secret-1"),
                       data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, **extra})


def test_intuitlib_trades_a_sandbox_code_and_its_revoke_ends_the_refresh_chain(sandbox, tmp_path):
    answer = _redirect(_approve(sandbox, "/connect/oauth2", scope=QBO_SCOPE))
    assert answer["state"] == "st-1" and answer["realmId"] == "9130311111"
    discovery = f"{sandbox.base_url}/.well-known/openid_configuration"
    client = AuthClient("app-1", "secret-1", REDIRECT, environment=discovery)
    assert client.auth_endpoint == f"{sandbox.base_url}/connect/oauth2"
    assert client.revoke_endpoint == f"{sandbox.base_url}/v2/oauth2/tokens/revoke"
    client.get_bearer_token(answer["code"], realm_id=answer["realmId"])
    assert client.expires_in == 3600 and client.x_refresh_token_expires_in == 100 * 86400
    first = client.refresh_token
    client.refresh()
    assert client.refresh_token != first
    with pytest.raises(AuthClientError) as replayed:
        AuthClient("app-1", "secret-1", REDIRECT, environment=discovery).get_bearer_token(answer["code"])
    assert replayed.value.status_code == 400 and b"invalid_grant" in replayed.value.content
    api = sandbox.get("/v3/company/9130311111/companyinfo/9130311111",
                      headers={"Authorization": f"Bearer {client.access_token}", "Accept": "application/json"})
    assert api.status_code == 200
    assert client.revoke(token=client.refresh_token) is True
    refused = sandbox.post("/oauth2/v1/tokens/bearer", auth=("app-1", "secret-1"),
                           data={"grant_type": "refresh_token", "refresh_token": client.refresh_token})
    assert refused.status_code == 400 and refused.json() == {"error": "invalid_grant"}
    api = sandbox.get("/v3/company/9130311111/companyinfo/9130311111",
                      headers={"Authorization": f"Bearer {client.access_token}", "Accept": "application/json"})
    assert api.status_code == 401  # the chain's access token died with it


def test_a_code_works_once_for_its_own_redirect_uri_and_not_after_its_ten_minutes(sandbox, monkeypatch):
    code = _redirect(_approve(sandbox, "/connect/oauth2", scope=QBO_SCOPE))["code"]
    assert _exchange(sandbox, "/oauth2/v1/tokens/bearer", code, redirect_uri="http://localhost:9/other").json() == \
        {"error": "invalid_grant"}
    assert _exchange(sandbox, "/oauth2/v1/tokens/bearer", code).status_code == 400  # the wrong try used it up
    code = _redirect(_approve(sandbox, "/connect/oauth2", scope=QBO_SCOPE))["code"]
    assert _exchange(sandbox, "/oauth2/v1/tokens/bearer", code).status_code == 200
    assert _exchange(sandbox, "/oauth2/v1/tokens/bearer", code).json() == {"error": "invalid_grant"}
    assert sandbox.post("/oauth2/v1/tokens/bearer", auth=("other-app", "s"),
                        data={"grant_type": "authorization_code",
                              "code": _redirect(_approve(sandbox, "/connect/oauth2", scope=QBO_SCOPE))["code"],
                              "redirect_uri": REDIRECT}).status_code == 400
    monkeypatch.setattr(consent_module, "CODE_LIFETIME", -1)  # the sandbox runs in this process
    code = _redirect(_approve(sandbox, "/connect/oauth2", scope=QBO_SCOPE))["code"]
    assert _exchange(sandbox, "/oauth2/v1/tokens/bearer", code).json() == {"error": "invalid_grant"}


def test_a_pkce_challenge_is_verified_and_an_offline_access_scope_is_what_gives_a_refresh_token(sandbox):
    verifier, challenge = new_pkce()
    code = _redirect(_approve(sandbox, "/identity/connect/authorize", scope="offline_access accounting.invoices",
                              code_challenge=challenge, code_challenge_method="S256"))["code"]
    assert _exchange(sandbox, "/connect/token", code, code_verifier=new_pkce()[0]).json() == {"error": "invalid_grant"}
    code = _redirect(_approve(sandbox, "/identity/connect/authorize", scope="offline_access accounting.invoices",
                              code_challenge=challenge, code_challenge_method="S256"))["code"]
    pair = _exchange(sandbox, "/connect/token", code, code_verifier=verifier).json()
    assert pair["refresh_token"] and pair["expires_in"] == 1800
    assert pair["scope"] == "offline_access accounting.invoices"
    online = _redirect(_approve(sandbox, "/identity/connect/authorize", scope="accounting.invoices"))["code"]
    assert "refresh_token" not in _exchange(sandbox, "/connect/token", online).json()
    plain = sandbox.get("/identity/connect/authorize", params={
        "response_type": "code", "client_id": "app-1", "redirect_uri": REDIRECT, "state": "st-1",
        "code_challenge": challenge, "code_challenge_method": "plain"})
    assert _redirect(plain) == {"error": "invalid_request", "state": "st-1"}


def test_xero_lists_the_consented_organisations_and_revocation_removes_them_and_the_chain(sandbox):
    code = _redirect(_approve(sandbox, "/identity/connect/authorize", scope="offline_access"))["code"]
    pair = _exchange(sandbox, "/connect/token", code).json()
    listed = sandbox.get("/connections", headers={"Authorization": f"Bearer {pair['access_token']}"}).json()
    assert [(c["tenantId"], c["tenantType"]) for c in listed] == [("t-one", "ORGANISATION"), ("t-two", "ORGANISATION")]
    assert {"id", "authEventId", "tenantName", "createdDateUtc", "updatedDateUtc"} <= set(listed[0])
    assert sandbox.get("/connections", headers={"Authorization": "Bearer nobody"}).status_code == 401
    assert sandbox.post("/connect/revocation", auth=("app-1", "wrong"),
                        data={"token": pair["refresh_token"]}).status_code == 401
    assert sandbox.post("/connect/revocation", auth=("app-1", "secret-1"), data={"token": "unknown"}).status_code == 200
    assert sandbox.post("/connect/revocation", auth=("app-1", "secret-1"),
                        data={"token": pair["refresh_token"]}).status_code == 200
    refused = sandbox.post("/connect/token", auth=("app-1", "secret-1"),
                           data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
    assert refused.json() == {"error": "invalid_grant"}
    assert sandbox.get("/connections", headers={"Authorization": f"Bearer {pair['access_token']}"}).status_code == 401


def test_the_consent_page_answers_once_denies_with_state_and_never_redirects_to_an_unusable_uri(sandbox):
    denied = _approve(sandbox, "/connect/oauth2", decision="deny", scope=QBO_SCOPE)
    assert _redirect(denied) == {"error": "access_denied", "state": "st-1"}
    params = {"response_type": "code", "client_id": "app-1", "redirect_uri": REDIRECT, "state": "st-2",
              "scope": QBO_SCOPE}
    page = sandbox.get("/connect/oauth2", params=params)
    ident = re.search(r"name='request' value='([^']+)'", page.text).group(1)
    form = {"request": ident, "decision": "approve", "realm_id": "9130311111"}
    assert sandbox.post("/connect/oauth2", data=form).status_code == 302
    assert sandbox.post("/connect/oauth2", data=form).status_code == 400  # answered already
    assert "value='approve'>Approve</button>" in page.text and "value='deny' formnovalidate>Deny</button>" in page.text
    for bad in ("javascript:alert(1)", "/relative", ""):
        assert sandbox.get("/connect/oauth2", params={**params, "redirect_uri": bad}).status_code == 400
    assert _redirect(sandbox.get("/connect/oauth2", params={**params, "response_type": "token"})) == \
        {"error": "unsupported_response_type", "state": "st-2"}
    assert _redirect(sandbox.get("/connect/oauth2", params={**params, "scope": "openid"})) == \
        {"error": "invalid_scope", "state": "st-2"}
