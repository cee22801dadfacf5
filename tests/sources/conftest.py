"""Fixtures for the API sources: respx routers as the transport of each connector's own httpx.Client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from connectors.housecallpro import HousecallProSource
from connectors.jobber import JobberSource
from connectors.servicetitan import ServiceTitanSource
from services.config import CloseoutConfig
from closeout.settings import Settings
from source_fakes import COMPANY, HCP_API, JOBBER_API, ST_TENANT, MemoryTokens, StubbedSourcesApp
from storage import open_store


@pytest.fixture
def jobber_router() -> respx.Router:
    return respx.Router(base_url=JOBBER_API, assert_all_called=False)


@pytest.fixture
def tokens() -> MemoryTokens:
    return MemoryTokens()


@pytest.fixture
def make_jobber(jobber_router: respx.Router, tokens: MemoryTokens):
    def make(**options: Any) -> JobberSource:
        client = httpx.Client(transport=httpx.MockTransport(jobber_router.handler))
        return JobberSource(client=client, tokens=tokens, client_id="client-id", client_secret="client-secret-xyz",
                            page_size=options.pop("page_size", 2), **options)

    return make


@pytest.fixture
def app(tmp_path, make_jobber, make_hcp, make_st):
    store = open_store(f"sqlite:///{tmp_path / 'closeout.db'}")
    application = StubbedSourcesApp(settings=Settings(home=tmp_path), config=CloseoutConfig(companies=(COMPANY,)),
                            store=store, home=tmp_path)
    application.connectors = {"jobber": make_jobber(), "housecallpro": make_hcp(), "servicetitan": make_st()}
    yield application
    store.close()


@pytest.fixture
def hcp_router() -> respx.Router:
    return respx.Router(base_url=HCP_API, assert_all_called=False)


@pytest.fixture
def make_hcp(hcp_router: respx.Router):
    def make(**options: Any) -> HousecallProSource:
        client = httpx.Client(transport=httpx.MockTransport(hcp_router.handler))
        return HousecallProSource(client=client, api_key="hcp-key-123", page_size=options.pop("page_size", 2), **options)

    return make


@pytest.fixture
def st_router() -> respx.Router:
    return respx.Router(assert_all_called=False)


@pytest.fixture
def make_st(st_router: respx.Router):
    def make(**options: Any) -> ServiceTitanSource:
        client = httpx.Client(transport=httpx.MockTransport(st_router.handler))
        return ServiceTitanSource(client=client, tenant=ST_TENANT, app_key="app-key-1", client_id="st-client",
                                  client_secret="st-secret-xyz", page_size=options.pop("page_size", 2), **options)

    return make
