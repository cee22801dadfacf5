"""The sandbox's Xero token endpoint rotates single-use refresh tokens, and its access tokens expire."""

from __future__ import annotations

import base64

import httpx

from sandbox.server import running_sandbox


def test_a_refresh_token_works_once_and_the_rotated_one_works_next(tmp_path) -> None:
    with running_sandbox(tmp_path) as url, httpx.Client(base_url=url, trust_env=False) as client:
        first = client.post("/_sandbox/xero/tokens", json={"client_id": "app-1"}).json()["refresh_token"]
        form = {"grant_type": "refresh_token", "refresh_token": first, "client_id": "app-1", "client_secret": "s"}
        pair = client.post("/connect/token", data=form).json()
        assert pair["token_type"] == "Bearer" and pair["expires_in"] == 1800 and pair["refresh_token"] != first
        again = client.post("/connect/token", data=form)
        assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}
        basic = base64.b64encode(b"app-1:s").decode()
        rotated = client.post("/connect/token", headers={"Authorization": f"Basic {basic}"},
                              data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
        assert rotated.status_code == 200
        other_app = client.post("/connect/token", data={**form, "refresh_token": rotated.json()["refresh_token"],
                                                        "client_id": "app-2"})
        assert other_app.json() == {"error": "invalid_grant"}
        answer = client.get("/api.xro/2.0/Invoices", headers={"Authorization": f"Bearer {pair['access_token']}",
                                                              "xero-tenant-id": "org"})
        assert answer.status_code == 200


def test_an_issued_access_token_is_refused_with_token_expired_once_its_lifetime_is_over(tmp_path) -> None:
    with running_sandbox(tmp_path) as url, httpx.Client(base_url=url, trust_env=False) as client:
        first = client.post("/_sandbox/xero/tokens", json={"client_id": "app", "expires_in": 0}).json()
        pair = client.post("/connect/token", data={"grant_type": "refresh_token", "client_id": "app",
                                                   "refresh_token": first["refresh_token"]}).json()
        answer = client.get("/api.xro/2.0/Invoices", headers={"Authorization": f"Bearer {pair['access_token']}",
                                                              "xero-tenant-id": "org"})
        assert answer.status_code == 401 and answer.json()["Detail"].startswith("TokenExpired")
