"""Fixtures for the QBO sandbox tests: one server for the session, a fresh realm (company) per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import requests
from quickbooks import QuickBooks
from sdk_clients import xero_sdk
from xero_python.accounting import AccountingApi


from sandbox.server import running_sandbox

TOKEN = "sandbox-test-token-0123456789"


@pytest.fixture(scope="session")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_sandbox(tmp_path_factory.mktemp("qbo-sandbox")) as url:
        yield url


@pytest.fixture
def realm() -> str:
    return f"9341{uuid.uuid4().int % 10**12:012d}"


@pytest.fixture
def qbo(sandbox_url: str, realm: str) -> Iterator[httpx.Client]:
    """An authorised raw HTTP client rooted at ``/v3/company/{realm}``."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    with httpx.Client(base_url=f"{sandbox_url}/v3/company/{realm}", headers=headers, timeout=10,
                      trust_env=False) as client:
        yield client


@pytest.fixture
def admin(sandbox_url: str, realm: str) -> Iterator[httpx.Client]:
    """A client for this realm's ``/_sandbox/qbo/{realm}`` admin endpoints."""
    with httpx.Client(base_url=f"{sandbox_url}/_sandbox/qbo/{realm}", timeout=10, trust_env=False) as client:
        yield client


# ---- the real SDKs, pointed at the sandbox (the conformance and payment tests drive it through them) ----------


class QboSession(requests.Session):
    """What python-quickbooks needs of ``qb.session``: a bearer token and ``request()`` (no OAuth, so http://)."""

    access_token = TOKEN

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False


@pytest.fixture
def qb(sandbox_url: str, realm: str) -> Iterator[QuickBooks]:
    """The real QBO SDK client, pointed at this test's realm of the sandbox."""
    client = QuickBooks(company_id=realm, minorversion=75, use_decimal=True)
    client.api_url_v3 = f"{sandbox_url}/v3"
    client.session = QboSession()
    yield client
    client.session.close()


@pytest.fixture
def tenant() -> str:
    """A fresh Xero organisation of the sandbox."""
    return str(uuid.uuid4())


@pytest.fixture
def api(sandbox_url: str) -> AccountingApi:
    """The real xero-python client on the sandbox."""
    return xero_sdk(sandbox_url)
