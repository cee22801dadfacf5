"""A company whose ledger pair lives in a Prefect credentials block (``credentials = "prefect"``): `closeout connect`
creates the block from the app's client credentials in the environment, the refresher then reads it, and
disconnect leaves the app's credentials there but no token."""

from __future__ import annotations

import httpx
import pytest
from oauth_consent_kit import REALM, ConsentBrowser, free_port

import closeout.credentials.connect as connect_module
from closeout.credentials.blocks import QuickBooksCredentials
from closeout.credentials.connect import connect, disconnect, resolve
from closeout.credentials.ledger_tokens import ledger_token_provider
from closeout.settings import Settings
from closeout.wiring import build_ledger, open_app
from sandbox.server import running_sandbox
from services.config import MissingSecretError

CLIENT_SECRET = "s3cret-qbo-client-secret-a81f77c2e0"


def test_connect_creates_the_credentials_block_the_refresher_reads_and_disconnect_empties_it(
        prefect_api, workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("CLOSEOUT_QBO_CLIENT_ID_BLOCKCO", "block-app")
    monkeypatch.setenv("CLOSEOUT_QBO_CLIENT_SECRET_BLOCKCO", CLIENT_SECRET)
    with running_sandbox(tmp_path / "sandbox") as url:
        # a "real" ledger (not api_url = "sandbox") whose Intuit is the sandbox: its discovery document names it
        monkeypatch.setattr(connect_module, "INTUIT_DISCOVERY_URL", f"{url}/.well-known/openid_configuration")
        config = tmp_path / "block.toml"
        config.write_text(f'[[companies]]\nid = "blockco"\nname = "Block Co"\n[companies.ledger]\n'
                          f'kind = "quickbooks"\nrealm_id = "{REALM}"\napi_url = "{url}/v3"\ncredentials = "prefect"\n'
                          f'token_url = "{url}/oauth2/v1/tokens/bearer"\n', encoding="utf-8")
        with open_app(settings=Settings(), config_path=config) as app:
            said: list[str] = []
            line = connect(resolve(app, "quickbooks", "blockco", client=httpx.Client(trust_env=False)),
                           port=free_port(), open_browser=ConsentBrowser(choose={"realm_id": [REALM]}), timeout=20,
                           say=said.append)
            assert line.endswith("tokens kept in the Prefect block closeout-quickbooks-credentials/blockco-quickbooks")
            assert all(CLIENT_SECRET not in text for text in [line, *said])
            block = QuickBooksCredentials.load("blockco-quickbooks")
            assert block.client_secret.get_secret_value() == CLIENT_SECRET and block.realm_id == REALM
            assert block.refresh_token.get_secret_value() and block.access_token.get_secret_value()
            company = app.config.company("blockco")
            tokens = ledger_token_provider(company, home=app.home, store=app.store, sandbox_url=None,
                                           client=httpx.Client(trust_env=False))
            ledger = build_ledger(company, sandbox_url=None, token_provider=tokens)
            assert ledger.find_customers(name="Nobody", email=None) == []
            assert not (app.home / "tokens" / "blockco-quickbooks.json").exists()

            assert "Intuit revoked" in disconnect(resolve(app, "quickbooks", "blockco",
                                                          client=httpx.Client(trust_env=False)))
            emptied = QuickBooksCredentials.load("blockco-quickbooks")
            assert emptied.client_secret.get_secret_value() == CLIENT_SECRET
            assert emptied.refresh_token.get_secret_value() == "" and emptied.access_token is None
            with pytest.raises(MissingSecretError, match="closeout connect"):
                tokens.vault.load()
