"""One sandbox for the session and, per test, a fresh company in each ledger: the contract suite's ``kit``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors.qbo import QuickBooksLedger
from connectors.xero import XeroLedger
from mappings.qbo import to_qbo_credit_memo, to_qbo_invoice
from mappings.xero import to_xero_credit_note, to_xero_invoice
from sandbox.server import running_sandbox
from workorders.drafts import InvoiceDraft

TOKEN = "contract-test-token-7d2a"


@dataclass
class LedgerKit:
    """A ledger connector on a fresh sandbox company, with what a test needs to speak its language."""

    kind: str
    ledger: Any
    labour: str  # an item the sandbox seeds
    part: str
    taxable: str  # tax codes
    exempt: str
    payload: Callable[[InvoiceDraft, str], dict[str, Any]]
    credit_payload: Callable[[InvoiceDraft, str], dict[str, Any]]
    admin: httpx.Client
    make: Callable[..., Any]
    pay: Callable[[str, str], None]
    """Record a customer's payment of this amount on the invoice with this ledger id, as its ledger's API does."""

    def fault(self, kind: str, count: int = 1, seconds: float = 0) -> None:
        self.admin.post("/faults", json={"kind": kind, "count": count, "seconds": seconds}).raise_for_status()

    def stats(self) -> dict[str, Any]:
        return self.admin.get("/stats").json()


@pytest.fixture(scope="session")
def ledger_sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_sandbox(tmp_path_factory.mktemp("ledger-sandbox")) as url:
        yield url


def _qbo_kit(url: str, admin_root: str) -> tuple[Callable[..., Any], str, Callable[[str, str], None]]:
    realm = f"9341{uuid.uuid4().int % 10**12:012d}"

    def make(**overrides: Any) -> QuickBooksLedger:
        return QuickBooksLedger(**{"base_url": f"{url}/v3", "realm_id": realm, "access_token": TOKEN,
                                   "timeout": 5.0, **overrides})

    def pay(ledger_id: str, amount: str) -> None:
        api, headers = f"{url}/v3/company/{realm}", {"Authorization": f"Bearer {TOKEN}"}
        invoice = httpx.get(f"{api}/invoice/{ledger_id}", headers=headers, trust_env=False).json()["Invoice"]
        body = {"CustomerRef": invoice["CustomerRef"], "TotalAmt": amount,
                "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": ledger_id, "TxnType": "Invoice"}]}]}
        httpx.post(f"{api}/payment", headers=headers, json=body, trust_env=False).raise_for_status()

    return make, f"{admin_root}/qbo/{realm}", pay


def _xero_kit(url: str, admin_root: str) -> tuple[Callable[..., Any], str, Callable[[str, str], None]]:
    tenant = str(uuid.uuid4())

    def make(**overrides: Any) -> XeroLedger:
        return XeroLedger(**{"base_url": f"{url}/api.xro/2.0", "tenant_id": tenant, "access_token": TOKEN,
                             "timeout": 5.0, **overrides})

    def pay(ledger_id: str, amount: str) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}", "xero-tenant-id": tenant}
        body = {"Payments": [{"Invoice": {"InvoiceID": ledger_id}, "Account": {"Code": "090"},
                              "Amount": float(amount), "Date": "2026-03-02"}]}
        httpx.put(f"{url}/api.xro/2.0/Payments", headers=headers, json=body, trust_env=False).raise_for_status()

    return make, f"{admin_root}/xero/{tenant}", pay


@pytest.fixture(params=["quickbooks", "xero"])
def kit(request: pytest.FixtureRequest, ledger_sandbox_url: str) -> Iterator[LedgerKit]:
    admin_root = f"{ledger_sandbox_url}/_sandbox"
    if request.param == "quickbooks":
        make, admin_url, pay = _qbo_kit(ledger_sandbox_url, admin_root)
        extra = dict(labour="1", part="2", taxable="TAX", exempt="NON",
                     payload=lambda draft, customer: to_qbo_invoice(draft, customer_ref=customer),
                     credit_payload=lambda draft, customer: to_qbo_credit_memo(draft, customer_ref=customer))
    else:
        make, admin_url, pay = _xero_kit(ledger_sandbox_url, admin_root)
        extra = dict(labour="LABOUR", part="PARTS", taxable="OUTPUT2", exempt="NONE",
                     payload=lambda draft, customer: to_xero_invoice(draft, contact_id=customer),
                     credit_payload=lambda draft, customer: to_xero_credit_note(draft, contact_id=customer))
    with httpx.Client(base_url=admin_url, timeout=10, trust_env=False) as admin:
        ledger = make()
        yield LedgerKit(kind=request.param, ledger=ledger, admin=admin, make=make, pay=pay, **extra)
        ledger.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A private schema of the test PostgreSQL server (``$CLOSEOUT_TEST_POSTGRES_URL`` or 127.0.0.1:5432/test).

    Unreachable: the test is skipped, unless ``CI=true``, where it fails: CI never passes by skipping.
    """
    import os

    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from storage.database import store_url as normalised_url

    configured = os.environ.get("CLOSEOUT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    url = normalised_url(configured).render_as_string(hide_password=False)
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    schema = f"ledgers_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        yield sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def pushed_backlog(workspace) -> Iterator[tuple[Any, Any]]:
    """``(app, config)``: the two-company backlog (3 jobs each) pulled, prepared and pushed to the sandbox."""
    from ledger_backlog import write_backlog

    from closeout.wiring import open_app
    from services.intake import pull_source
    from services.prepare import prepare_batch
    from services.push.batch import push_batch

    workspace.mkdir(parents=True)
    config = write_backlog(workspace, per_company=3)
    with open_app(config_path=config) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="backlog").evaluated:
            pass
        for company in app.companies():
            assert push_batch(app, company, limit=10).pushed == 3
        yield app, config
