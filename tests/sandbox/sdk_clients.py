"""The xero-python client pointed at the sandbox, for the conformance and payment tests (and their fixtures)."""

from __future__ import annotations

from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token


XERO_STATIC_TOKEN = "conformance-static-token"


def xero_sdk(sandbox_url: str, token: str = XERO_STATIC_TOKEN) -> AccountingApi:
    """An AccountingApi on the sandbox; the token dict has no expires_at, so the SDK never refreshes it."""
    Configuration.set_default(None)  # Configuration is a metaclass singleton (ledgers.md §3.2)
    configuration = Configuration(oauth2_token=OAuth2Token(client_id="conformance", client_secret="unused"))
    Configuration.set_default(None)
    held = {"access_token": token, "token_type": "Bearer", "expires_in": 1800,
            "scope": ["accounting.transactions", "accounting.settings"]}
    client = ApiClient(configuration, oauth2_token_getter=lambda: held, oauth2_token_saver=lambda _: None)
    return AccountingApi(client, base_url=f"{sandbox_url}/api.xro/2.0")
