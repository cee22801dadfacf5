"""The sandbox's Intuit OAuth endpoints: a discovery document intuitlib accepts, rotating refresh tokens, 401s."""

from __future__ import annotations

import httpx
import pytest
from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks import exceptions as qbx
from quickbooks.objects.customer import Customer

from connectors.qbo import QuickBooksLedger
from connectors.errors import AuthError
from sandbox.server import running_sandbox

REALM = "9130355221"


def _auth_client(url: str, secret: str = "secret-1") -> AuthClient:
    return AuthClient("app-q", secret, f"{url}/callback", environment=f"{url}/.well-known/openid_configuration")


def test_intuitlib_refreshes_through_the_discovered_endpoint_and_the_old_refresh_token_is_refused(tmp_path) -> None:
    with running_sandbox(tmp_path) as url, httpx.Client(base_url=url, trust_env=False) as admin:
        first = admin.post("/_sandbox/qbo/tokens", json={"client_id": "app-q", "client_secret": "secret-1"}).json()
        client = _auth_client(url)
        assert client.token_endpoint == f"{url}/oauth2/v1/tokens/bearer"
        client.refresh(refresh_token=first["refresh_token"])
        assert client.expires_in == 3600 and client.x_refresh_token_expires_in == 100 * 86400
        assert client.refresh_token != first["refresh_token"] and client.access_token
        with pytest.raises(AuthClientError) as refused:
            _auth_client(url).refresh(refresh_token=first["refresh_token"])
        assert refused.value.status_code == 400 and b"invalid_grant" in refused.value.content
        with pytest.raises(AuthClientError):
            _auth_client(url, secret="wrong").refresh(refresh_token=client.refresh_token)
        form_only = admin.post("/oauth2/v1/tokens/bearer", data={"grant_type": "refresh_token", "client_id": "app-q",
                                                                 "refresh_token": client.refresh_token})
        assert form_only.status_code == 401 and form_only.json() == {"error": "invalid_client"}
        assert admin.get("/_sandbox/qbo/token-stats", params={"client_id": "app-q"}).json() == {"refreshes": 1,
                                                                                               "refused": 2}


def test_an_expired_access_token_gets_intuits_401_from_the_api_until_it_is_refreshed(tmp_path) -> None:
    with running_sandbox(tmp_path) as url, httpx.Client(base_url=url, trust_env=False) as admin:
        first = admin.post("/_sandbox/qbo/tokens", json={"client_id": "app-q", "client_secret": "secret-1"}).json()
        client = _auth_client(url)
        client.refresh(refresh_token=first["refresh_token"])
        ledger = QuickBooksLedger(base_url=f"{url}/v3", realm_id=REALM, access_token=client.access_token, timeout=5)
        assert ledger.find_customers(name="Nobody", email=None) == []
        assert admin.post("/_sandbox/qbo/token-expiry", json={"client_id": "app-q"}).json() == {"expired": 1}
        with pytest.raises(AuthError) as refused:
            ledger.find_customers(name="Nobody", email=None)
        assert client.access_token not in str(refused.value)
        answer = admin.post(f"/v3/company/{REALM}/query", content="select * from Customer",
                            headers={"Authorization": f"Bearer {client.access_token}"})
        assert answer.status_code == 401 and answer.json()["fault"]["type"] == "AUTHENTICATION"
        qb = QuickBooks(company_id=REALM, minorversion=75)
        qb.api_url_v3, qb.session = f"{url}/v3", ledger._session
        with pytest.raises(qbx.AuthorizationException):
            Customer.all(qb=qb)
        client.refresh()
        fresh = QuickBooksLedger(base_url=f"{url}/v3", realm_id=REALM, access_token=client.access_token, timeout=5)
        assert fresh.find_customers(name="Nobody", email=None) == []
