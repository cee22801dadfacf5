"""`closeout connect jobber` against the fake Jobber's authorize endpoint: the pull then runs on the new tokens, the
client secret never shows, and disconnect ends the connection at Jobber (appDisconnect)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oauth_consent_kit import JOBBER_SECRET, ConsentBrowser, free_port, running_fake_jobber, write_config

from closeout.credentials.connect import ConnectError, connect, disconnect, resolve
from closeout.settings import Settings
from closeout.wiring import open_app
from connectors.oauth import TokenPair
from services.config import MissingSecretError
from services.intake import pull_source


@pytest.fixture
def jobber_app(workspace, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_ID_ACME", "jobber-app-id")
    monkeypatch.setenv("CLOSEOUT_JOBBER_CLIENT_SECRET_ACME", JOBBER_SECRET)
    monkeypatch.delenv("CLOSEOUT_JOBBER_REFRESH_TOKEN_ACME", raising=False)
    with running_fake_jobber() as url, open_app(settings=Settings(), config_path=write_config(workspace,
                                                                                              jobber_url=url)) as app:
        yield app, url


def _jobber(app):
    company = app.config.company("acme")
    return company, next(source for source in company.sources if source.kind == "jobber")


def test_a_connected_jobber_account_is_pulled_on_the_new_tokens_and_disconnect_ends_them_at_jobber(jobber_app):
    app, url = jobber_app
    browser, said = ConsentBrowser(), []
    line = connect(resolve(app, "jobber", "acme"), port=free_port(), open_browser=browser, timeout=20,
                   say=said.append)
    assert browser.errors == [] and line.startswith("connected acme to Jobber account Fake Jobber account")
    asked = parse_qs(urlsplit(browser.opened[0]).query)
    assert browser.opened[0].startswith(f"{url}/api/oauth/authorize?") and asked["client_id"] == ["jobber-app-id"]
    assert "scope" not in asked and "code_challenge" not in asked  # Jobber's scopes are the app's; no PKCE
    token_file = app.home / "tokens" / "acme-jobber.json"
    stored = json.loads(token_file.read_text())
    assert all(JOBBER_SECRET not in text for text in [line, *said, token_file.read_text()])

    company, source = _jobber(app)
    assert pull_source(app, company, source).pulled == 7
    connected = stored["refresh_token"]
    resolve(app, "jobber", "acme").vault.save(TokenPair(access_token="", refresh_token=connected))  # access ran out
    again = pull_source(app, company, source)  # refreshes first, on the connected refresh token
    assert again.pulled >= 1 and again.failed == {}
    stored = json.loads(token_file.read_text())
    assert stored["access_token"] and stored["refresh_token"] != connected  # rotated, and the new one kept

    said_off = disconnect(resolve(app, "jobber", "acme"))
    assert said_off == (f"disconnected acme's jobber connection: Jobber ended the app's connection; removed from "
                        f"the workspace file {token_file}")
    last = json.loads(token_file.read_text())
    assert set(last) == {"disconnected_at"}
    refused = httpx.post(f"{url}/api/oauth/token", trust_env=False,
                         data={"grant_type": "refresh_token", "refresh_token": stored["refresh_token"],
                               "client_id": "jobber-app-id", "client_secret": JOBBER_SECRET})
    assert refused.status_code == 401 and refused.json() == {"error": "invalid_grant"}
    with pytest.raises(MissingSecretError, match="closeout connect"):
        pull_source(app, company, source)


def test_a_denied_jobber_consent_stores_nothing_and_its_error_never_names_the_secret(jobber_app):
    app, _ = jobber_app
    with pytest.raises(ConnectError) as refused:
        connect(resolve(app, "jobber", "acme"), port=free_port(), open_browser=ConsentBrowser(decision="deny"),
                timeout=20, say=lambda line: None)
    assert str(refused.value) == "jobber connect: access was denied at Jobber's consent page: nothing was stored"
    assert not (app.home / "tokens" / "acme-jobber.json").exists()
