"""Fixtures for the connector tests: the ledger sandbox for the session, a fresh realm per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest


from connectors.qbo import QuickBooksLedger
from sandbox.server import running_sandbox

TOKEN = "connector-test-token-5f1c0e9a"


@pytest.fixture(scope="session")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_sandbox(tmp_path_factory.mktemp("qbo-sandbox")) as url:
        yield url


@pytest.fixture
def realm() -> str:
    return f"9341{uuid.uuid4().int % 10**12:012d}"


@pytest.fixture
def make_ledger(sandbox_url: str, realm: str) -> Callable[..., QuickBooksLedger]:
    """Build a QuickBooksLedger on this test's realm; keyword arguments override the defaults."""

    def make(**overrides: Any) -> QuickBooksLedger:
        options: dict[str, Any] = {"base_url": f"{sandbox_url}/v3", "realm_id": realm, "access_token": TOKEN,
                                   "timeout": 5.0, **overrides}
        return QuickBooksLedger(**options)

    return make


@pytest.fixture
def ledger(make_ledger: Callable[..., QuickBooksLedger]) -> QuickBooksLedger:
    return make_ledger()


@pytest.fixture
def sandbox_admin(sandbox_url: str, realm: str) -> Iterator[httpx.Client]:
    """The realm's admin endpoints: ``GET /stats``, ``POST /faults``."""
    with httpx.Client(base_url=f"{sandbox_url}/_sandbox/qbo/{realm}", timeout=10, trust_env=False) as client:
        yield client
