"""Reconciliation finds what changed in the ledgers after the push, opens one case per finding, and says so."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import httpx
from ledger_backlog import REALM, TENANT, pushed_records as records
from typer.testing import CliRunner

from closeout.cli import app as cli
from services.reconcile import compare, reconcile
from workorders.drafts import DraftLine, InvoiceDraft
from workorders.push import PushRecord, PushStatus


def test_voided_duplicated_and_vanished_invoices_each_become_one_case(pushed_backlog):
    app, _ = pushed_backlog
    xero_first = records(app, "xero-co")[0]
    headers = {"Authorization": "Bearer admin", "xero-tenant-id": TENANT}
    httpx.post(f"{app.sandbox_url}/api.xro/2.0/Invoices", params={"summarizeErrors": "false"}, headers=headers,
               json={"Invoices": [{"InvoiceID": xero_first.ledger_id, "Status": "VOIDED"}]}).raise_for_status()
    qbo_first, qbo_second = records(app, "qbo-co")[:2]
    copy = {"CustomerRef": {"value": "1"}, "DocNumber": qbo_first.doc_number,
            "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 10, "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}]}
    httpx.post(f"{app.sandbox_url}/v3/company/{REALM}/invoice", params={"include": "allowduplicatedocnum"},
               headers={"Authorization": "Bearer admin"}, json=copy).raise_for_status()
    with app.store.unit_of_work() as uow:
        uow.push_records.mark(qbo_second.idempotency_key, PushStatus.pushed, ledger_id="987654")
        uow.commit()

    report = reconcile(app)

    found = sorted((f.company, f.kind, f.doc_number) for f in report.findings)
    assert found == sorted([("xero-co", "voided_in_ledger", xero_first.doc_number),
                            ("qbo-co", "duplicate_doc_number", qbo_first.doc_number),
                            ("qbo-co", "missing_in_ledger", qbo_second.doc_number)])
    assert report.cases_opened == 3 and report.records_checked == 6
    again = reconcile(app, company_id="qbo-co")
    assert again.cases_opened == 0 and len(again.findings) == 2


def test_a_clean_ledger_reconciles_with_exit_code_zero(pushed_backlog, monkeypatch):
    _, config = pushed_backlog
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(cli, ["reconcile", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["records_checked"] == 6 and report["findings"] == []


def test_amount_and_customer_differences_are_findings_with_both_values():
    draft = InvoiceDraft(company="c", ledger="xero", work_order_id="csv:1", work_order_version=2, customer_name="A",
                         customer_ref="contact-a", doc_number="X-1", txn_date=date(2026, 3, 1), currency="NZD",
                         lines=(DraftLine(description="L", quantity="1", unit_price="100.00", item_ref="LABOUR",
                                          tax_code="NONE"),))
    record = PushRecord(idempotency_key=draft.idempotency_key, company="c", ledger="xero", work_order_id="csv:1",
                        work_order_version=2, doc_number="X-1", amount=Decimal("100.00"), status=PushStatus.pushed,
                        draft=draft, ledger_id="inv-1")
    invoice = SimpleNamespace(ledger_id="inv-1", doc_number="X-1", subtotal=Decimal("90.00"), tax=Decimal("13.50"),
                              total=Decimal("103.50"), currency="NZD", customer_ref="contact-b",
                              status="AUTHORISED")
    findings = compare("c", [record], [invoice])
    assert [(f.kind, f.expected, f.found) for f in findings] == [("amount_mismatch", "100.00", "90.00"),
                                                                  ("customer_mismatch", "contact-a", "contact-b")]
    assert findings[0].anomaly("xero").work_order_version == 2
