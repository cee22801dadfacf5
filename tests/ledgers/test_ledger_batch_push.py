"""Drafts go out many to a request (QBO batch of 30, Xero 50 a PUT), and each invoice keeps its own outcome."""

from __future__ import annotations

import httpx
import pytest
from ledger_backlog import REALM, TENANT, write_backlog

from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from closeout.wiring import open_app
from workorders.push import PushStatus


def take_doc_number(app, company_id: str, doc_number: str) -> None:
    """Someone else's invoice, for another amount, already carries this doc number."""
    if company_id == "xero-co":
        headers = {"Authorization": "Bearer someone-else", "xero-tenant-id": TENANT}
        httpx.put(f"{app.sandbox_url}/api.xro/2.0/Invoices", headers=headers, json={"Invoices": [{
            "Type": "ACCREC", "Contact": {"Name": "Somebody"}, "InvoiceNumber": doc_number, "Status": "DRAFT",
            "LineItems": [{"Description": "other", "Quantity": 1, "UnitAmount": 1, "ItemCode": "LABOUR"}]}]},
        ).raise_for_status()
    else:
        customer = app.ledger_for(app.config.company(company_id)).create_customer(name="Somebody", email=None)
        httpx.post(f"{app.sandbox_url}/v3/company/{REALM}/invoice", headers={"Authorization": "Bearer other"},
                   json={"CustomerRef": {"value": customer}, "DocNumber": doc_number, "Line": [
                       {"DetailType": "SalesItemLineDetail", "Amount": 1,
                        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 1}}]},
                   ).raise_for_status()


@pytest.mark.parametrize("company_id", ["qbo-co", "xero-co"])
def test_one_refused_invoice_in_a_batch_becomes_a_case_while_the_others_are_created(workspace, company_id):
    workspace.mkdir(parents=True)
    config = write_backlog(workspace, per_company=5)
    with open_app(config_path=config) as app:
        company = app.config.company(company_id)
        for source in company.sources:
            pull_source(app, company, source)
        while prepare_batch(app, run_id="backlog").evaluated:
            pass
        with app.store.unit_of_work() as uow:
            taken = sorted(r.doc_number for r in uow.push_records.all() if r.company == company_id)[2]
        take_doc_number(app, company_id, taken)

        step = push_batch(app, company, limit=10)

        with app.store.unit_of_work() as uow:
            records = {r.doc_number: r for r in uow.push_records.all() if r.company == company_id}
            cases = uow.cases.list(company=company_id)
        invoices = list(app.ledger_for(company).find_invoices(sorted(records)))
    assert step.pushed == 4 and step.rejected == 1
    assert records[taken].status is PushStatus.rejected
    assert [c.kind for c in cases] == ["ledger_rejected"] and taken in cases[0].summary
    assert sorted(i.doc_number for i in invoices) == sorted(records)  # ours four, and the other one's
    assert {r.ledger_id for d, r in records.items() if d != taken} == {i.ledger_id for i in invoices
                                                                      if i.doc_number != taken}


def test_the_qbo_sandbox_refuses_a_batch_of_more_than_30_items(tmp_path) -> None:
    from sandbox.server import running_sandbox

    items = [{"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"C{n}"}} for n in range(31)]
    with running_sandbox(tmp_path) as url:
        answer = httpx.post(f"{url}/v3/company/{REALM}/batch", headers={"Authorization": "Bearer t"},
                            json={"BatchItemRequest": items})
        fine = httpx.post(f"{url}/v3/company/{REALM}/batch", headers={"Authorization": "Bearer t"},
                          json={"BatchItemRequest": items[:30]})
    assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "1040"
    assert fine.status_code == 200 and len(fine.json()["BatchItemResponse"]) == 30
