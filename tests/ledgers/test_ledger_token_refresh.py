"""Ledger OAuth: expired tokens are refreshed once per company across workers, rotated pairs saved before use."""

from __future__ import annotations

import json
import logging
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from ledger_backlog import write_backlog
from ledger_token_worker import call_ledger_once

from services.config import CompanyConfig
from closeout.credentials.vaults import BlockTokenVault, FileTokenVault, QuickBooksCredentials
from closeout.credentials.ledger_tokens import LedgerTokens, ledger_token_provider, refresh_lock
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from closeout.wiring import build_ledger, open_app
from connectors.errors import AuthError, RetriableError
from connectors.oauth import LedgerTokenRefresher, TokenPair
from sandbox.server import running_sandbox
from storage import open_store
from workorders.anomalies import AnomalyCode
from workorders.push import PushStatus

SYSTEMS = {"quickbooks": "qbo", "xero": "xero"}


def _company(kind: str, company_id: str = "acme") -> CompanyConfig:
    ids = {"realm_id": "9130311111"} if kind == "quickbooks" else {"tenant_id": "3c1d6a52-tokens-test"}
    return CompanyConfig(id=company_id, name="Acme", ledger={"kind": kind, **ids})


def _stats(url: str, kind: str, client_id: str) -> dict[str, int]:
    return httpx.get(f"{url}/_sandbox/{SYSTEMS[kind]}/token-stats", params={"client_id": client_id},
                     trust_env=False).json()


def _expire(url: str, kind: str, client_id: str) -> None:
    httpx.post(f"{url}/_sandbox/{SYSTEMS[kind]}/token-expiry", json={"client_id": client_id},
               trust_env=False).raise_for_status()


def _open_cases(store, code: AnomalyCode) -> list:
    with store.unit_of_work() as uow:
        return [case for case in uow.cases.list() if case.kind is code and case.is_open]


class _RecordingVault(FileTokenVault):
    def __init__(self, path: Path, events: list, **kwargs) -> None:
        super().__init__(path, **kwargs)
        self.events = events

    def save(self, pair: TokenPair) -> None:
        super().save(pair)
        self.events.append(("saved", pair.access_token, json.loads(self.path.read_text())["access_token"]))


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_an_expired_access_token_is_refreshed_once_saved_before_use_and_the_rotated_refresh_token_used_next(
        kind, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    company = _company(kind)
    with running_sandbox(tmp_path / "sandbox") as url, open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        tokens = ledger_token_provider(company, home=tmp_path, store=store, sandbox_url=url)
        events: list = []
        tokens.vault = _RecordingVault(tmp_path / "tokens" / f"acme-{kind}.json", events,
                                       first_refresh_token=tokens.vault.first_refresh_token)

        def provider(refused: str | None) -> str:
            token = tokens(refused)
            events.append(("used", token, None))
            return token

        ledger = build_ledger(company, sandbox_url=url, token_provider=provider)
        assert ledger.find_customers(name="Nobody", email=None) == []
        first = tokens.vault.load()
        assert events[0] == ("saved", first.access_token, first.access_token) and events[1][:2] == ("used", first.access_token)
        assert (tmp_path / "tokens" / f"acme-{kind}.json").stat().st_mode & 0o777 == 0o600
        assert _stats(url, kind, "closeout-acme") == {"refreshes": 1, "refused": 0}

        _expire(url, kind, "closeout-acme")  # the ledger now answers 401 to it
        events.clear()
        assert ledger.find_customers(name="Nobody", email=None) == []
        second = tokens.vault.load()
        assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
        assert [event[0] for event in events] == ["used", "saved", "used"] and events[1][2] == second.access_token
        assert _stats(url, kind, "closeout-acme") == {"refreshes": 2, "refused": 0}

        stale = LedgerTokenRefresher(client=httpx.Client(trust_env=False), system=kind, client_id="closeout-acme",
                                     client_secret="closeout-sandbox-secret",
                                     token_url=f"{url}/connect/token" if kind == "xero" else f"{url}/oauth2/v1/tokens/bearer")
        with pytest.raises(AuthError) as refused:
            stale.refresh(first.refresh_token)
        assert refused.value.code == "invalid_grant" and first.refresh_token not in str(refused.value)
    logged = caplog.text
    assert "refreshed the" in logged
    assert all(token not in logged for token in (first.access_token, first.refresh_token, second.access_token,
                                                 second.refresh_token))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_worker_processes_meeting_an_expired_token_refresh_it_once(backend, tmp_path, request) -> None:
    kind = "quickbooks" if backend == "sqlite" else "xero"
    store_url = request.getfixturevalue("postgres_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 's.db'}"
    with running_sandbox(tmp_path / "sandbox") as url, open_store(store_url) as store:
        tokens = ledger_token_provider(_company(kind), home=tmp_path, store=store, sandbox_url=url)
        before = tokens(None)
        _expire(url, kind, "closeout-acme")
        spawn = multiprocessing.get_context("forkserver")  # a clean single-threaded parent, imports paid once
        spawn.set_forkserver_preload(["ledger_token_worker"])
        barrier, results = spawn.Barrier(2), spawn.Queue()
        args = (_company(kind).model_dump_json(), str(tmp_path), store_url, url, barrier, results)
        workers = [spawn.Process(target=call_ledger_once, args=args) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=180)
            assert worker.exitcode == 0
        seen = {results.get(timeout=5), results.get(timeout=5)}
        assert _stats(url, kind, "closeout-acme") == {"refreshes": 2, "refused": 0}  # the first, then one more
        assert seen == {tokens.vault.load().access_token} and before not in seen


def test_a_refused_refresh_opens_one_case_and_stops_the_push_with_every_draft_still_ready(workspace, caplog) -> None:
    workspace.mkdir(parents=True)
    config = write_backlog(workspace, per_company=3)
    FileTokenVault(workspace / "tokens" / "qbo-co-quickbooks.json", first_refresh_token=str).save(
        TokenPair(access_token="", refresh_token="qrt-revoked-by-the-user"))
    with open_app(config_path=config) as app:
        company = app.config.company("qbo-co")
        for source in company.sources:
            pull_source(app, company, source)
        while prepare_batch(app, run_id="tokens").evaluated:
            pass
        for attempt in range(2):
            with pytest.raises(AuthError) as stopped:
                push_batch(app, company)
        assert "connect the ledger again; drafts stay ready" in str(stopped.value)
        assert "qrt-revoked-by-the-user" not in str(stopped.value) + caplog.text
        with app.store.unit_of_work() as uow:
            records = [r for r in uow.push_records.all() if r.company == "qbo-co"]
        assert len(records) == 3 and all(record.status is PushStatus.ready for record in records)
        (case,) = _open_cases(app.store, AnomalyCode.ledger_refresh_failed)
        assert case.subject == "qbo-co:quickbooks" and case.evidence["error"] == "invalid_grant"


def test_a_refresh_token_near_its_end_opens_one_case_over_two_runs(tmp_path) -> None:
    with running_sandbox(tmp_path / "sandbox") as url, open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        first = httpx.post(f"{url}/_sandbox/qbo/tokens", trust_env=False, json={
            "client_id": "app", "client_secret": "s", "refresh_expires_in": 5 * 86400}).json()["refresh_token"]
        for run in range(2):
            tokens = LedgerTokens(
                company="acme", ledger="quickbooks", store=store, warn_before=timedelta(days=14),
                vault=FileTokenVault(tmp_path / "tokens.json", first_refresh_token=lambda: first),
                refresher=LedgerTokenRefresher(client=httpx.Client(trust_env=False), system="quickbooks",
                                               client_id="app", client_secret="s",
                                               discovery_url=f"{url}/.well-known/openid_configuration"),
                lock=refresh_lock(store, tmp_path, "acme-quickbooks"))
            assert tokens(None)
        (case,) = _open_cases(store, AnomalyCode.ledger_token_expiring)
        ends = datetime.fromisoformat(case.evidence["refresh_expires_at"])
        assert timedelta(days=4) < ends - datetime.now(UTC) <= timedelta(days=5)
        assert _stats(url, "quickbooks", "app")["refreshes"] == 1  # the second run found a valid saved pair


def test_the_refresher_types_token_endpoint_failures_and_never_repeats_a_secret() -> None:
    with respx.mock(base_url="https://identity.test") as mock:
        refresher = LedgerTokenRefresher(client=httpx.Client(), system="xero", client_id="cid",
                                         client_secret="very-secret", token_url="https://identity.test/token")
        mock.post("/token").respond(400, json={"error": "invalid_grant"})
        with pytest.raises(AuthError) as refused:
            refresher.refresh("rt-secret-1")
        mock.post("/token").respond(503, text="down rt-secret-1 very-secret")
        with pytest.raises(RetriableError):
            refresher.refresh("rt-secret-1")
        mock.post("/token").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(RetriableError) as unreachable:
            refresher.refresh("rt-secret-1")
        mock.post("/token").respond(200, text="<html>rt-secret-1</html>")
        with pytest.raises(Exception) as garbled:
            refresher.refresh("rt-secret-1")
        request = mock.calls[0].request
        assert request.headers["Authorization"].startswith("Basic ") and b"very-secret" not in request.content
    assert refused.value.code == "invalid_grant"
    for error in (refused.value, unreachable.value, garbled.value):
        assert "rt-secret-1" not in str(error) and "very-secret" not in str(error)


def test_the_pair_lives_in_the_prefect_credentials_block_when_the_config_says_so(prefect_api, tmp_path) -> None:
    with running_sandbox(tmp_path / "sandbox") as url, open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        first = httpx.post(f"{url}/_sandbox/qbo/tokens", trust_env=False,
                           json={"client_id": "block-app", "client_secret": "block-secret"}).json()["refresh_token"]
        QuickBooksCredentials(client_id="block-app", client_secret="block-secret", refresh_token=first,
                              realm_id="9130311111").save("acme-quickbooks", overwrite=True)
        company = CompanyConfig(id="acme", name="Acme", ledger={
            "kind": "quickbooks", "realm_id": "9130311111", "api_url": f"{url}/v3", "credentials": "prefect",
            "token_url": f"{url}/oauth2/v1/tokens/bearer"})
        tokens = ledger_token_provider(company, home=tmp_path, store=store, sandbox_url=None)
        assert isinstance(tokens.vault, BlockTokenVault)
        ledger = build_ledger(company, sandbox_url=None, token_provider=tokens)
        assert ledger.find_customers(name="Nobody", email=None) == []
        saved = QuickBooksCredentials.load("acme-quickbooks")
        assert saved.access_token.get_secret_value() == tokens(None)
        assert saved.refresh_token.get_secret_value() != first and saved.realm_id == "9130311111"
        assert saved.expires_at > datetime.now(UTC) + timedelta(minutes=50)
        assert not (tmp_path / "tokens" / "acme-quickbooks.json").exists()  # only the lock file is there
