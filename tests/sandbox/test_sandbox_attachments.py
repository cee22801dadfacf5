"""The sandbox's attachments and invoice e-mail, through python-quickbooks and xero-python as Closeout calls them."""

from __future__ import annotations

import json
import uuid
from datetime import date

import httpx
import pytest
from quickbooks.objects.attachable import Attachable
from quickbooks.objects.invoice import Invoice

from closeout.demo.make_mail import signature_png, tiny_jpeg
from connectors.errors import RejectedError
from connectors.qbo import QuickBooksLedger
from connectors.xero import XeroLedger
from mappings.qbo import to_qbo_invoice
from mappings.xero import to_xero_invoice
from sandbox.xero_schema import body_problems
from workorders.drafts import DraftLine, InvoiceDraft

TOKEN = "sandbox-attachments-token"
PNG, JPEG = signature_png(), tiny_jpeg(16, 16)


def _draft(ledger: str, item: str, tax: str, doc: str) -> InvoiceDraft:
    lines = (DraftLine(description="Labour", quantity="2", unit_price="95.00", item_ref=item, tax_code=tax),)
    return InvoiceDraft(company="acme", ledger=ledger, work_order_id=f"csv:{doc}", work_order_version=1,
                        customer_name="Acme", customer_email="ap@acme.example", doc_number=doc,
                        txn_date=date(2026, 11, 2), due_date=date(2026, 11, 22), lines=lines,
                        currency="NZD" if ledger == "xero" else "USD")  # each sandbox company's home currency


@pytest.fixture
def qbo(sandbox_url, realm):
    ledger = QuickBooksLedger(base_url=f"{sandbox_url}/v3", realm_id=realm, access_token=TOKEN, timeout=5.0)
    yield ledger
    ledger.close()


@pytest.fixture
def xero(sandbox_url):
    ledger = XeroLedger(base_url=f"{sandbox_url}/api.xro/2.0", tenant_id=str(uuid.uuid4()), access_token=TOKEN,
                        timeout=5.0)
    yield ledger
    ledger.close()


def _qbo_invoice(ledger: QuickBooksLedger, doc: str = "A-1", email: str | None = "ap@acme.example") -> str:
    customer = ledger.create_customer(name=f"Acme {doc}", email=email)
    payload = to_qbo_invoice(_draft("quickbooks", "1", "NON", doc), customer_ref=customer)
    return ledger.create_invoice(payload, idempotency_key=f"key-{doc}").ledger_id


def _xero_invoice(ledger: XeroLedger, doc: str = "A-1", *, email: str | None = "ap@acme.example",
                  status: str = "AUTHORISED") -> str:
    contact = ledger.create_customer(name=f"Acme {doc}", email=email)
    payload = to_xero_invoice(_draft("xero", "LABOUR", "NONE", doc), contact_id=contact, status=status)
    return ledger.create_invoice(payload, idempotency_key=f"key-{doc}").ledger_id


def test_a_qbo_upload_from_python_quickbooks_is_an_attachable_on_the_invoice_found_by_its_ref(qbo, realm, admin):
    invoice = _qbo_invoice(qbo)
    first = qbo.attach_file(invoice, file_name="signature.png", content_type="image/png", data=PNG)
    second = qbo.attach_file(invoice, file_name="before.jpg", content_type="image/jpeg", data=JPEG)
    other = _qbo_invoice(qbo, "A-2")

    found = Attachable.where(f"AttachableRef.EntityRef.Value = '{invoice}'", qb=qbo._qb)
    assert sorted((a.Id, a.FileName, a.ContentType, a.Size) for a in found) == [
        (first, "signature.png", "image/png", len(PNG)), (second, "before.jpg", "image/jpeg", len(JPEG))]
    assert qbo.attachment_names(invoice) == ["signature.png", "before.jpg"]
    assert qbo.attachment_names(other) == []
    assert admin.get("/evidence").json()["by_invoice"] == {invoice: ["signature.png", "before.jpg"]}


def test_a_standard_multipart_upload_with_crlf_lines_and_raw_bytes_is_read_the_same_way(sandbox_url, realm, qbo):
    invoice = _qbo_invoice(qbo)
    meta = {"FileName": "after.jpg", "ContentType": "image/jpeg",
            "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": invoice}}]}
    answer = httpx.post(f"{sandbox_url}/v3/company/{realm}/upload", headers={"Authorization": f"Bearer {TOKEN}"},
                        files={"file_metadata_0": (None, json.dumps(meta), "application/json"),
                               "file_content_0": ("after.jpg", JPEG, "image/jpeg")}, trust_env=False)

    attachable = answer.json()["AttachableResponse"][0]["Attachable"]
    assert answer.status_code == 200 and attachable["Size"] == len(JPEG)
    assert attachable["AttachableRef"][0]["EntityRef"] == {"type": "Invoice", "value": invoice}


def test_qbo_refuses_a_file_type_it_does_not_take_and_an_attachment_to_a_missing_invoice(qbo):
    invoice = _qbo_invoice(qbo)
    with pytest.raises(RejectedError) as refused_type:
        qbo.attach_file(invoice, file_name="plan.exe", content_type="application/x-msdownload", data=b"MZ")
    with pytest.raises(RejectedError) as missing:
        qbo.attach_file("999", file_name="signature.png", content_type="image/png", data=PNG)
    assert refused_type.value.code == "2170" and "not supported" in refused_type.value.detail
    assert missing.value.code == "610"


def test_sending_a_qbo_invoice_marks_it_email_sent_and_an_invoice_with_no_address_is_refused(qbo, admin):
    invoice = _qbo_invoice(qbo)
    nobody = _qbo_invoice(qbo, "A-2", email=None)
    assert qbo.invoice_sent(invoice) is False

    qbo.send_invoice(invoice, email="billing@acme.example")
    unsent = Invoice()
    unsent.Id = nobody
    with pytest.raises(Exception) as refused:
        unsent.send(qb=qbo._qb)  # no sendTo and no BillEmail

    sent = Invoice.get(invoice, qb=qbo._qb)
    assert sent.EmailStatus == "EmailSent" and sent.BillEmail.Address == "billing@acme.example"
    assert qbo.invoice_sent(invoice) and not qbo.invoice_sent(nobody)
    assert "2020" in str(getattr(refused.value, "error_code", "")) + str(refused.value)
    assert admin.get("/evidence").json()["emails_sent"] == [{"invoice_id": invoice, "send_to": "billing@acme.example"}]


def _xero_get(sandbox_url: str, xero: XeroLedger, path: str) -> httpx.Response:
    return httpx.get(f"{sandbox_url}/api.xro/2.0{path}", trust_env=False,
                     headers={"Authorization": f"Bearer {TOKEN}", "xero-tenant-id": xero.tenant_id})


def test_a_xero_attachment_of_the_same_name_replaces_the_first_and_answers_match_the_spec(sandbox_url, xero):
    invoice = _xero_invoice(xero)
    first = xero.attach_file(invoice, file_name="signature.png", content_type="image/png", data=PNG)
    again = xero.attach_file(invoice, file_name="signature.png", content_type="image/png", data=PNG)
    xero.attach_file(invoice, file_name="before.jpg", content_type="image/jpeg", data=JPEG)

    listed = _xero_get(sandbox_url, xero, f"/Invoices/{invoice}/Attachments").json()
    read = _xero_get(sandbox_url, xero, f"/Invoices/{invoice}").json()["Invoices"][0]
    assert first == again and xero.attachment_names(invoice) == ["signature.png", "before.jpg"]
    assert body_problems("Attachments", {"Attachments": listed["Attachments"]}) == []
    assert [(a["FileName"], a["MimeType"], a["ContentLength"], a["IncludeOnline"]) for a in listed["Attachments"]] == [
        ("signature.png", "image/png", len(PNG), True), ("before.jpg", "image/jpeg", len(JPEG), True)]
    assert read["HasAttachments"] is True


def test_xero_refuses_an_eleventh_attachment_and_a_file_over_ten_megabytes(sandbox_url, xero):
    invoice = _xero_invoice(xero)
    for number in range(10):
        xero.attach_file(invoice, file_name=f"photo-{number}.jpg", content_type="image/jpeg", data=JPEG)
    with pytest.raises(RejectedError) as eleventh:
        xero.attach_file(invoice, file_name="photo-10.jpg", content_type="image/jpeg", data=JPEG)
    other = _xero_invoice(xero, "A-2")
    huge = httpx.put(f"{sandbox_url}/api.xro/2.0/Invoices/{other}/Attachments/video.jpg", content=b"\0" * (10 * 2**20 + 1),
                     headers={"Authorization": f"Bearer {TOKEN}", "xero-tenant-id": xero.tenant_id,
                              "Content-Type": "application/octet-stream"}, trust_env=False, timeout=30)

    assert "No more than 10" in eleventh.value.message and len(xero.attachment_names(invoice)) == 10
    assert huge.status_code == 400 and "too large" in huge.text and xero.attachment_names(other) == []


def test_xero_emails_an_authorised_invoice_to_its_contact_and_refuses_a_draft_or_a_contact_without_an_address(
        sandbox_url, xero):
    invoice = _xero_invoice(xero)
    draft = _xero_invoice(xero, "A-2", status="DRAFT")
    nobody = _xero_invoice(xero, "A-3", email=None)

    xero.send_invoice(invoice, email="ap@acme.example")
    with pytest.raises(RejectedError) as draft_refused:
        xero.send_invoice(draft, email="ap@acme.example")
    with pytest.raises(RejectedError) as nobody_refused:
        xero.send_invoice(nobody, email="ap@acme.example")
    bad_body = httpx.post(f"{sandbox_url}/api.xro/2.0/Invoices/{invoice}/Email", json={"Status": 5}, trust_env=False,
                          headers={"Authorization": f"Bearer {TOKEN}", "xero-tenant-id": xero.tenant_id})
    stats = httpx.get(f"{sandbox_url}/_sandbox/xero/{xero.tenant_id}/evidence", trust_env=False).json()

    assert xero.invoice_sent(invoice) and not xero.invoice_sent(draft) and not xero.invoice_sent(nobody)
    assert "DRAFT" in draft_refused.value.message and "email address" in nobody_refused.value.message
    assert bad_body.status_code == 400 and "is not of type 'string'" in bad_body.text
    assert stats["emails_sent"] == [{"invoice_id": invoice.lower(), "email": "ap@acme.example"}]
