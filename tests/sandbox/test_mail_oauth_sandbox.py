"""The sandbox's Microsoft 365 and Google sign-in for IMAP: consent as a mailbox user, the scopes each requires,
single-use codes, and the RFC 7662 introspection a test Dovecot asks (live tokens active with their user; expired,
revoked and unknown ones inactive)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from sandbox.server import running_sandbox

USER = "crew@acme.example"
MICROSOFT = {"system": "ms365", "authorize": "/common/oauth2/v2.0/authorize", "token": "/common/oauth2/v2.0/token",
             "scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"}
GOOGLE = {"system": "google", "authorize": "/o/oauth2/v2/auth", "token": "/token", "scope": "https://mail.google.com/"}
REDIRECT = "http://localhost:8770/callback"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("mail-oauth")) as url:
        yield url


@pytest.fixture
def http():
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


def consent(http, base, provider, *, scope, client_id="mail-app", account=USER, hint=None):
    """Open the consent page and approve as ``account``: the redirect's query parameters."""
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": scope, "state": "s1"}
    if hint:
        query["login_hint"] = hint
    page = http.get(f"{base}{provider['authorize']}?{urlencode(query)}")
    if page.status_code == 302:
        return parse_qs(urlsplit(page.headers["location"]).query), ""
    request = re.search(r"name='request' value='([^']+)'", page.text).group(1)
    answer = http.post(f"{base}{provider['authorize']}", content=urlencode(
        {"request": request, "decision": "approve", "account": account}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query), page.text


def exchange(http, base, provider, code, client_id="mail-app"):
    return http.post(f"{base}{provider['token']}", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id,
        "client_secret": "s3cret"})


def introspect(http, base, provider, token):
    return http.post(f"{base}/_sandbox/{provider['system']}/introspect", data={"token": token}).json()


@pytest.mark.parametrize("provider", [MICROSOFT, GOOGLE], ids=["microsoft", "google"])
def test_a_consented_token_introspects_active_for_the_user_who_signed_in_until_it_expires(http, base, provider):
    answer, page = consent(http, base, provider, scope=provider["scope"], hint=USER)
    assert f"value='{USER}'" in page  # login_hint fills in who signs in
    pair = exchange(http, base, provider, answer["code"][0]).json()
    assert pair["refresh_token"] and answer["state"] == ["s1"]
    seen = introspect(http, base, provider, pair["access_token"])
    assert (seen["active"], seen["username"], seen["email"], seen["client_id"]) == (True, USER, USER, "mail-app")
    http.post(f"{base}/_sandbox/{provider['system']}/token-expiry", json={"access_token": pair["access_token"]})
    assert introspect(http, base, provider, pair["access_token"]) == {"active": False}
    assert introspect(http, base, provider, "never-issued") == {"active": False}
    assert exchange(http, base, provider, answer["code"][0]).json() == {"error": "invalid_grant"}  # single use


@pytest.mark.parametrize(("provider", "scope"), [(MICROSOFT, "offline_access User.Read"), (GOOGLE, "email")],
                         ids=["microsoft", "google"])
def test_a_request_without_the_providers_mail_scope_is_refused_with_invalid_scope(http, base, provider, scope):
    answer, _ = consent(http, base, provider, scope=scope)
    assert answer["error"] == ["invalid_scope"] and answer["state"] == ["s1"]


def test_microsoft_gives_a_refresh_token_only_for_offline_access(http, base):
    answer, _ = consent(http, base, MICROSOFT, scope="https://outlook.office.com/IMAP.AccessAsUser.All")
    assert "refresh_token" not in exchange(http, base, MICROSOFT, answer["code"][0]).json()


def test_revoking_a_user_ends_the_refresh_and_the_access_of_every_chain_of_that_user(http, base):
    first = http.post(f"{base}/_sandbox/ms365/accounts", json={"client_id": "revoke-app", "username": "gone@acme.example"})
    refresh = first.json()["refresh_token"]
    pair = http.post(f"{base}{MICROSOFT['token']}", data={"grant_type": "refresh_token", "refresh_token": refresh,
                                                           "client_id": "revoke-app"}).json()
    assert introspect(http, base, MICROSOFT, pair["access_token"])["username"] == "gone@acme.example"
    assert http.post(f"{base}/_sandbox/ms365/revoke", json={"username": "gone@acme.example"}).json() == {"revoked": 1}
    assert introspect(http, base, MICROSOFT, pair["access_token"]) == {"active": False}
    again = http.post(f"{base}{MICROSOFT['token']}", data={"grant_type": "refresh_token",
                                                            "refresh_token": pair["refresh_token"],
                                                            "client_id": "revoke-app"})
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}
    assert http.get(f"{base}/_sandbox/ms365/token-stats", params={"client_id": "revoke-app"}).json() == {
        "refreshes": 1, "refused": 1}


def test_an_introspection_request_over_the_size_limit_is_refused(http, base):
    assert http.post(f"{base}/_sandbox/google/introspect", data={"token": "x" * 5000}).status_code == 413
