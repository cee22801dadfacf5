"""Fixtures for the QBO sandbox tests: one server for the session, a fresh realm (company) per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest


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
