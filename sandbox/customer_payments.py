"""A customer's payment of an invoice, recorded in the local sandbox through each ledger's own payment API.

Closeout never records payments (the ledger is where money is reconciled); the demo and the tests pay invoices
this way to show what a correction does to a paid one: QBO ``POST /payment`` with the invoice as LinkedTxn,
Xero ``PUT /Payments`` into the seeded bank account 090 (sandbox.qbo_payments, sandbox.xero_payments).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

SANDBOX_TOKEN = "Bearer sandbox-payments"  # the sandbox takes any bearer that does not start expired/invalid


def pay_invoice(sandbox_url: str, company: Any, ledger_id: str, amount: Decimal, *, on: str = "2026-12-01") -> None:
    """Pay ``amount`` of the invoice ``ledger_id`` of ``company`` (a ``CompanyConfig``) in the sandbox."""
    with httpx.Client(base_url=sandbox_url, timeout=10, trust_env=False) as client:
        if company.ledger.kind == "xero":
            headers = {"Authorization": SANDBOX_TOKEN, "xero-tenant-id": company.ledger.tenant_id}
            body = {"Payments": [{"Invoice": {"InvoiceID": ledger_id}, "Account": {"Code": "090"},
                                  "Amount": float(amount), "Date": on}]}
            client.put("/api.xro/2.0/Payments", headers=headers, json=body).raise_for_status()
            return
        api, headers = f"/v3/company/{company.ledger.realm_id}", {"Authorization": SANDBOX_TOKEN}
        invoice = client.get(f"{api}/invoice/{ledger_id}", headers=headers).raise_for_status().json()["Invoice"]
        body = {"CustomerRef": invoice["CustomerRef"], "TotalAmt": str(amount), "TxnDate": on,
                "Line": [{"Amount": str(amount), "LinkedTxn": [{"TxnId": ledger_id, "TxnType": "Invoice"}]}]}
        client.post(f"{api}/payment", headers=headers, json=body).raise_for_status()
