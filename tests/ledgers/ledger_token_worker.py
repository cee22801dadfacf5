"""A worker process for the token tests: meet the company's (expired) token, call the ledger once, report the token.

Kept apart from the test module so a spawned process imports only what a worker needs.
"""

from __future__ import annotations

from pathlib import Path

from services.config import CompanyConfig
from closeout.credentials.ledger_tokens import ledger_token_provider
from connectors.qbo import QuickBooksLedger
from connectors.xero import XeroLedger
from storage import open_store


def call_ledger_once(company_json: str, home: str, store_url: str, sandbox_url: str, barrier, results) -> None:
    company = CompanyConfig.model_validate_json(company_json)
    with open_store(store_url) as store:
        tokens = ledger_token_provider(company, home=Path(home), store=store, sandbox_url=sandbox_url)
        if company.ledger.kind == "xero":
            ledger = XeroLedger(base_url=f"{sandbox_url}/api.xro/2.0", tenant_id=company.ledger.tenant_id,
                                token_provider=tokens)
        else:
            ledger = QuickBooksLedger(base_url=f"{sandbox_url}/v3", realm_id=company.ledger.realm_id,
                                      token_provider=tokens)
        barrier.wait(timeout=120)
        ledger.find_customers(name="Nobody", email=None)
        results.put(tokens(None))
