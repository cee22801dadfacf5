"""The Xero sandbox answers like the Accounting API: per-element errors, where filters, replays, error shapes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from xero_python.accounting.models import Contact, Invoice, Invoices, LineAmountTypes, LineItem
from xero_python.api_client.serializer import serialize

from mappings.xero import to_xero_invoice
from sandbox.xero_schema import body_problems
from workorders.drafts import DraftLine, InvoiceDraft


@pytest.fixture
def tenant() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def xero(sandbox_url: str, tenant: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": "Bearer xero-test-token", "xero-tenant-id": tenant, "Accept": "application/json"}
    with httpx.Client(base_url=f"{sandbox_url}/api.xro/2.0", headers=headers, timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
def xero_admin(sandbox_url: str, tenant: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sandbox_url}/_sandbox/xero/{tenant}", timeout=10, trust_env=False) as client:
        yield client


def contact(xero: httpx.Client, name: str = "Acme") -> str:
    answer = xero.put("/Contacts", json={"Contacts": [{"Name": name}]})
    return answer.json()["Contacts"][0]["ContactID"]


def invoice(contact_id: str, number: str, *, item: str = "LABOUR", reference: str = "") -> dict:
    return {"Type": "ACCREC", "Contact": {"ContactID": contact_id}, "InvoiceNumber": number, "Reference": reference,
            "Date": "2026-03-01", "DueDate": "2026-03-31", "Status": "AUTHORISED",
            "LineItems": [{"Description": "Labour", "Quantity": 2, "UnitAmount": 95.0, "ItemCode": item,
                           "TaxType": "OUTPUT2", "LineAmount": 190.0}]}


def test_summarize_errors_false_answers_200_with_each_elements_own_errors(xero: httpx.Client) -> None:
    cid = contact(xero)
    body = {"Invoices": [invoice(cid, "A-1"), invoice(cid, "A-2", item="NOPE"), invoice(cid, "A-1")]}
    answer = xero.put("/Invoices", params={"summarizeErrors": "False"}, json=body)
    assert answer.status_code == 200
    first, bad_item, taken = answer.json()["Invoices"]
    assert first["HasErrors"] is False and first["Total"] == 218.5 and first["SubTotal"] == 190.0
    assert bad_item["HasErrors"] is True and bad_item["StatusAttributeString"] == "ERROR"
    assert bad_item["ValidationErrors"] == [{"Message": "Item code 'NOPE' is not valid"}]
    assert taken["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]


def test_summarized_errors_answer_400_yet_the_valid_elements_are_created(xero: httpx.Client, xero_admin) -> None:
    cid = contact(xero)
    answer = xero.put("/Invoices", json={"Invoices": [invoice(cid, "S-1"), invoice(cid, "S-2", item="NOPE")]})
    assert answer.status_code == 400
    error = answer.json()
    assert error["Type"] == "ValidationException" and error["ErrorNumber"] == 10
    assert [e["InvoiceNumber"] for e in error["Elements"]] == ["S-2"]
    assert xero_admin.get("/stats").json()["invoices"] == 1


def test_a_body_that_breaks_the_official_schema_is_refused_naming_the_field(xero: httpx.Client) -> None:
    cid = contact(xero)
    bad = invoice(cid, "X-1")
    bad["LineAmountTypes"] = "Sometimes"
    bad["LineItems"][0]["Quantity"] = "two"
    answer = xero.put("/Invoices", json={"Invoices": [bad]})
    assert answer.status_code == 400
    messages = [v["Message"] for v in answer.json()["Elements"][0]["ValidationErrors"]]
    assert any(m.startswith("Invoices.0.LineAmountTypes:") for m in messages)
    assert any(m.startswith("Invoices.0.LineItems.0.Quantity:") for m in messages)


def test_what_the_sdk_sends_for_our_invoices_fits_the_official_schema() -> None:
    draft = InvoiceDraft(company="c", ledger="xero", work_order_id="csv:1", work_order_version=1, customer_name="A",
                         doc_number="NW-1", txn_date=date(2026, 3, 1), currency="USD", po_number="PO-9",
                         lines=(DraftLine(description="Labour", quantity="1.5", unit_price="95.00",
                                          item_ref="LABOUR", tax_code="NONE", income_account="200"),))
    payload = to_xero_invoice(draft, contact_id=str(uuid.uuid4()))
    line = payload["LineItems"][0]
    model = Invoices(invoices=[Invoice(
        type="ACCREC", contact=Contact(contact_id=payload["Contact"]["ContactID"]),
        invoice_number=payload["InvoiceNumber"], reference=payload["Reference"], date=payload["Date"],
        status=payload["Status"], line_amount_types=LineAmountTypes(payload["LineAmountTypes"]),
        line_items=[LineItem(description=line["Description"], quantity=line["Quantity"],
                             unit_amount=line["UnitAmount"], item_code=line["ItemCode"], tax_type=line["TaxType"],
                             account_code=line["AccountCode"], line_amount=line["LineAmount"])])])
    assert body_problems("Invoices", serialize(model)) == []


def test_where_filters_find_invoices_by_number_or_reference(xero: httpx.Client) -> None:
    cid = contact(xero)
    xero.put("/Invoices", json={"Invoices": [invoice(cid, "W-1", reference="Job 1"), invoice(cid, "W-2"),
                                             invoice(cid, 'W-"3"', reference="PO 7")]})
    numbers = lambda where: sorted(i["InvoiceNumber"] for i in xero.get("/Invoices", params={"where": where})
                                   .json()["Invoices"])
    assert numbers('InvoiceNumber=="W-1" OR InvoiceNumber=="W-\\"3\\""') == ['W-"3"', "W-1"]
    assert numbers('Reference=="PO 7"') == ['W-"3"']
    assert numbers('Type=="ACCREC" AND Status!="DELETED" AND InvoiceNumber=="W-2"') == ["W-2"]
    assert xero.get("/Invoices", params={"where": "InvoiceNumber LIKE 1"}).status_code == 400


def test_an_idempotency_key_replays_the_first_answer_and_refuses_a_different_request(xero, xero_admin) -> None:
    cid = contact(xero)
    headers = {"Idempotency-Key": "wo-1-v1"}
    first = xero.put("/Invoices", json=invoice(cid, "I-1"), headers=headers)
    again = xero.put("/Invoices", json=invoice(cid, "I-1"), headers=headers)
    assert again.json()["Invoices"][0]["InvoiceID"] == first.json()["Invoices"][0]["InvoiceID"]
    other = xero.put("/Invoices", json=invoice(cid, "I-2"), headers=headers)
    assert other.status_code == 400 and "different request" in other.json()["Message"]
    assert xero_admin.get("/stats").json()["invoices"] == 1


def test_auth_tenant_and_missing_resources_get_xeros_401_403_404(xero: httpx.Client, sandbox_url: str) -> None:
    expired = xero.get("/Invoices", headers={"Authorization": "Bearer expired-abc"})
    assert expired.status_code == 401 and expired.json()["Title"] == "Unauthorized"
    assert expired.json()["Detail"].startswith("TokenExpired")
    forbidden = xero.get("/Invoices", headers={"xero-tenant-id": "forbidden-org"})
    assert forbidden.status_code == 403 and forbidden.json()["Detail"] == "AuthenticationUnsuccessful"
    assert xero.get(f"/Invoices/{uuid.uuid4()}").status_code == 404


def test_a_throttled_call_gets_429_with_retry_after_and_the_limit_it_hit(xero: httpx.Client, xero_admin) -> None:
    xero_admin.post("/faults", json={"kind": "throttle"})
    answer = xero.get("/Invoices")
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0 and answer.headers["X-Rate-Limit-Problem"] == "minute"
    assert xero.get("/Invoices").status_code == 200


def test_post_with_an_invoice_id_voids_an_authorised_invoice_and_it_cannot_come_back(xero: httpx.Client) -> None:
    cid = contact(xero)
    created = xero.put("/Invoices", json=invoice(cid, "V-1")).json()["Invoices"][0]
    void = xero.post("/Invoices", params={"summarizeErrors": "false"},
                     json={"Invoices": [{"InvoiceID": created["InvoiceID"], "Status": "VOIDED"}]})
    assert void.json()["Invoices"][0]["Status"] == "VOIDED"
    back = xero.post("/Invoices", params={"summarizeErrors": "false"},
                     json={"Invoices": [{"InvoiceID": created["InvoiceID"], "Status": "AUTHORISED"}]})
    assert back.json()["Invoices"][0]["HasErrors"] is True
    assert xero.get("/Invoices/V-1").json()["Invoices"][0]["Status"] == "VOIDED"


def test_chaos_fails_calls_at_the_configured_rate_and_rate_zero_turns_it_off(xero: httpx.Client, xero_admin) -> None:
    assert xero_admin.post("/chaos", json={"rate": 1, "kinds": ["server_error"]}).status_code == 201
    assert [xero.get("/Invoices").status_code for _ in range(3)] == [500, 500, 500]
    assert xero_admin.post("/chaos", json={"rate": 0}).status_code == 201
    assert xero.get("/Invoices").status_code == 200
    assert xero_admin.post("/chaos", json={"rate": 2}).status_code == 400
