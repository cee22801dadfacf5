"""The use cases' unit tests run on the fakes of tests/fakes.py: one company, its fake ledger and csv-drop source."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.config import CloseoutConfig, CompanyConfig
from connectors.source_paging import SourceJob, SourcePage
from tests.fakes import FakeRuntime, FakeSource, company_config


@pytest.fixture
def app(tmp_path) -> FakeRuntime:
    """A runtime with the company ``acme`` on a QuickBooks-like fake ledger and an empty csv-drop source."""
    return FakeRuntime(CloseoutConfig(companies=(company_config(),)), home=tmp_path,
                       sources={"csv-drop": FakeSource([])})


@pytest.fixture
def company(app: FakeRuntime) -> CompanyConfig:
    return app.config.company("acme")


@pytest.fixture
def feed(app: FakeRuntime) -> Callable[..., FakeSource]:
    """Give the csv-drop source these pages of jobs, the n-th page carrying the cursor ``{name}-n``.

    A source fed again under another ``name`` delivers its pages to a pull that stopped at the earlier cursor.
    """

    def give(*pages: list[SourceJob], name: str = "page", fail_at: dict[int, Exception] | None = None) -> FakeSource:
        source = FakeSource([SourcePage(jobs=tuple(jobs), next_cursor=f"{name}-{n}")
                             for n, jobs in enumerate(pages, start=1)],
                            fail_at=fail_at)
        app.sources["csv-drop"] = source
        return source

    return give
