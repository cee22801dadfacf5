"""Fixtures for the store's tests: a fresh SQLite file or a private PostgreSQL schema for every test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool


from storage import SqlStore, open_store
from tests.fakes import Clock
from storage.database import store_url as normalised_url
from workorders.drafts import DraftLine, InvoiceDraft
from workorders.work_order import Customer, JobType, LineItem, LineKind, WorkOrder, WorkOrderStatus

POSTGRES_URL_VARIABLE = "CLOSEOUT_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a reachable PostgreSQL server: ``$CLOSEOUT_TEST_POSTGRES_URL``, else 127.0.0.1:5432/test.

    When the server cannot be reached, a test that needs it is SKIPPED with the reason, unless the
    environment says ``CI=true``: then it FAILS, because a CI run must never pass by silently skipping its
    PostgreSQL tests. Checked once per session. Tests should not use the database itself but a
    ``private_schema`` of it (or the ``store_url`` fixture), so that runs never collide.
    """
    configured = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
    url = normalised_url(configured).render_as_string(hide_password=False)
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        reason = f"PostgreSQL at {sa.make_url(url)!r} is unreachable: {' '.join(str(exc.orig).split())}"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run, not be skipped)", pytrace=False)
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


@contextmanager
def private_schema(server_url: str) -> Iterator[str]:
    """A new, uniquely named schema on the server, dropped with CASCADE afterwards.

    Yields a URL whose connections have ``search_path`` set to that schema (libpq ``options``), so the
    store's tables and Alembic's version table are all created there.
    """
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(server_url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def _empty_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'store-{uuid.uuid4().hex[:8]}.db'}"
        return
    with private_schema(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``empty_database("sqlite" | "postgresql")``: the URL of a new empty database, removed after the test."""
    with ExitStack() as cleanup:
        yield lambda backend: cleanup.enter_context(_empty_database(backend, request, tmp_path))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, empty_database: Callable[[str], str]) -> str:
    """An empty store database, once on SQLite and once on PostgreSQL (marked ``postgres``)."""
    return empty_database(request.param)


def table_columns(engine: sa.Engine, table: str) -> set[str]:
    """The column names the database itself reports for ``table``."""
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


def downgrade_to(engine: sa.Engine, revision: str) -> None:
    """Run Alembic's downgrade to ``revision`` (``"base"``: nothing) on the engine's database, in one transaction."""
    from alembic import command

    from storage.database import alembic_config

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@pytest.fixture
def clock() -> Clock:
    """Aware UTC time that moves a millisecond on every reading, and further when told to."""
    return Clock(T0)


@pytest.fixture
def store(store_url: str, clock: Clock) -> Iterator[SqlStore]:
    opened = open_store(store_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


def _order(external_id: str = "J-100", *, company: str = "acme", **changes: Any) -> WorkOrder:
    fields: dict[str, Any] = {
        "source": "jobber",
        "external_id": external_id,
        "job_number": f"#{external_id}",
        "company": company,
        "customer": Customer(source_id="C-1", name="Harbour Dental", email="ap@harbour.example"),
        "job_type": JobType.corrective,
        "status": WorkOrderStatus.completed,
        "line_items": (
            LineItem(source_id="L-1", kind=LineKind.labour, description="Repair", quantity="2", unit_price="95.50"),
        ),
        "completed_at": datetime(2025, 2, 28, 16, 30, tzinfo=UTC),
        "updated_at": datetime(2025, 2, 28, 17, 0, tzinfo=UTC),
    }
    fields.update(changes)
    return WorkOrder(**fields)


def _draft(order: WorkOrder, *, ledger: str = "qbo", unit_price: str = "95.50") -> InvoiceDraft:
    return InvoiceDraft(
        company=order.company,
        ledger=ledger,
        work_order_id=order.id,
        work_order_version=order.version,
        customer_name=order.customer.name,
        doc_number=order.job_number.lstrip("#"),
        txn_date=date(2025, 2, 28),
        currency=order.currency,
        lines=(
            DraftLine(
                description="Repair",
                quantity=Decimal("2"),
                unit_price=Decimal(unit_price),
                item_ref="1",
                tax_code="TAX",
            ),
        ),
    )


@pytest.fixture
def make_order() -> Callable[..., WorkOrder]:
    """``make_order(external_id="J-100", company="acme", **changes)``: a completed job with one labour line."""
    return _order


@pytest.fixture
def make_draft() -> Callable[..., InvoiceDraft]:
    """``make_draft(stored_order, ledger="qbo", unit_price="95.50")``: a one-line draft for that version."""
    return _draft
