"""Xero sandbox invoice attachments and invoice e-mail, over the same tenant state and checks as ``sandbox.xero_app``.

    PUT|POST /api.xro/2.0/Invoices/{InvoiceID}/Attachments/{FileName}[?IncludeOnline=true]
             body = the file's raw bytes (``application/octet-stream``); answers ``Attachments`` with the one
             attachment. A file name the invoice already holds is replaced, not added (as on Xero).
    GET      /api.xro/2.0/Invoices/{InvoiceID}/Attachments                the invoice's attachments
    POST     /api.xro/2.0/Invoices/{InvoiceID}/Email      body ``RequestEmpty`` (checked against the spec);
             204, and the invoice gets ``SentToContact: true``. A DRAFT (or DELETED/VOIDED) invoice, or a contact
             without an EmailAddress, is refused with a 400 ValidationException.

Limits: at most 10 attachments per invoice and 10 MB per file (Xero's API limits); over either → 400
ValidationException. Every answer body is checked against the spec's ``Attachments`` schema before it is
sent, so the sandbox cannot drift. Bytes live in the state db (``xero_files``); ``GET
/_sandbox/xero/{tenant}/evidence`` lists attachments per invoice and every e-mail sent.
"""

from __future__ import annotations

import mimetypes
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.xero_reply import Reply
from sandbox.xero_schema import body_problems
from sandbox.xero_store import TenantView, XeroStore, dumps, loads

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PER_INVOICE = 10
ROOT = "/api.xro/2.0"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS xero_files (tenant TEXT NOT NULL, invoice_id TEXT NOT NULL, file_name TEXT NOT NULL,
    attachment_id TEXT NOT NULL, mime_type TEXT NOT NULL, include_online INTEGER NOT NULL, content BLOB NOT NULL,
    seq INTEGER NOT NULL, PRIMARY KEY (tenant, invoice_id, file_name));
CREATE TABLE IF NOT EXISTS xero_sent_emails (seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL,
    invoice_id TEXT NOT NULL, email TEXT NOT NULL);
"""


def _refused(message: str) -> tuple[int, str]:
    return 400, dumps({"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
                       "Elements": [{"ValidationErrors": [{"Message": message}]}]})


def _not_found() -> tuple[int, str]:
    return 404, '"The resource you\'re looking for cannot be found"'


def _attachment(tenant_root: str, invoice_id: str, row: tuple) -> dict[str, Any]:
    file_name, attachment_id, mime_type, include_online, size = row
    return {"AttachmentID": attachment_id, "FileName": file_name, "MimeType": mime_type, "ContentLength": size,
            "IncludeOnline": bool(include_online),
            "Url": f"{tenant_root}/Invoices/{invoice_id}/Attachments/{file_name}"}


def _answer(attachments: list[dict[str, Any]]) -> tuple[int, str]:
    body = {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "Closeout sandbox", "Attachments": attachments}
    problems = body_problems("Attachments", {"Attachments": attachments})
    if problems:  # the sandbox's own answer breaks the spec: a bug here, never the caller's
        raise AssertionError(f"sandbox answer does not match Xero's Attachments schema: {problems}")
    return 200, dumps(body)


def _rows(view: TenantView, invoice_id: str) -> list[tuple]:
    return view.db.execute(
        "SELECT file_name, attachment_id, mime_type, include_online, LENGTH(content) FROM xero_files "
        "WHERE tenant = ? AND invoice_id = ? ORDER BY seq", (view.tenant, invoice_id)).fetchall()


def put_attachment(view: TenantView, invoice_id: str, file_name: str, data: bytes, include_online: bool) -> tuple[int, str]:
    invoice = view.get("Invoice", invoice_id)
    if invoice is None:
        return _not_found()
    invoice_id = invoice["InvoiceID"].lower()
    if not file_name.strip() or "/" in file_name:
        return _refused("The file name is not valid")
    if len(data) > MAX_FILE_BYTES:
        return _refused(f"The file is too large: {len(data)} bytes, the limit is {MAX_FILE_BYTES}")
    names = [row[0] for row in _rows(view, invoice_id)]
    if file_name not in names and len(names) >= MAX_PER_INVOICE:
        return _refused(f"No more than {MAX_PER_INVOICE} attachments can be added to a document")
    mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
    seq = len(names) + 1 if file_name not in names else names.index(file_name) + 1
    view.db.execute(
        "INSERT INTO xero_files (tenant, invoice_id, file_name, attachment_id, mime_type, include_online, content, seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, invoice_id, file_name) DO UPDATE SET"
        " content = excluded.content, include_online = excluded.include_online, mime_type = excluded.mime_type",
        (view.tenant, invoice_id, file_name, str(uuid.uuid4()), mime_type, int(include_online), data, seq))
    view.put("Invoice", invoice["InvoiceID"], {**invoice, "HasAttachments": True}, number=invoice.get("InvoiceNumber"))
    row = next(r for r in _rows(view, invoice_id) if r[0] == file_name)
    return _answer([_attachment(ROOT, invoice_id, row)])


def list_attachments(view: TenantView, invoice_id: str) -> tuple[int, str]:
    invoice = view.get("Invoice", invoice_id)
    if invoice is None:
        return _not_found()
    invoice_id = invoice["InvoiceID"].lower()
    return _answer([_attachment(ROOT, invoice_id, row) for row in _rows(view, invoice_id)])


def email_invoice(view: TenantView, invoice_id: str, raw: bytes) -> tuple[int, str]:
    try:
        body = loads(raw or b"{}")
    except ValueError:
        return _refused("The request body is not valid JSON")
    problems = body_problems("RequestEmpty", body)
    if problems:
        return _refused("; ".join(problems))
    invoice = view.get("Invoice", invoice_id)
    if invoice is None:
        return _not_found()
    status = invoice.get("Status", "")
    if status not in ("SUBMITTED", "AUTHORISED", "PAID"):
        return _refused(f"Invoices with a status of {status} cannot be emailed")
    contact = view.get("Contact", str((invoice.get("Contact") or {}).get("ContactID", ""))) or {}
    email = contact.get("EmailAddress") or ""
    if "@" not in email:
        return _refused("The contact does not have an email address")
    view.put("Invoice", invoice["InvoiceID"], {**invoice, "SentToContact": True}, number=invoice.get("InvoiceNumber"))
    view.db.execute("INSERT INTO xero_sent_emails (tenant, invoice_id, email) VALUES (?, ?, ?)",
                    (view.tenant, invoice["InvoiceID"].lower(), email))
    return 204, ""


def evidence_stats(store: XeroStore, tenant: str) -> dict[str, Any]:
    with store.transaction() as db:
        rows = db.execute("SELECT invoice_id, file_name FROM xero_files WHERE tenant = ? ORDER BY invoice_id, seq",
                          (tenant,)).fetchall()
        sent = db.execute("SELECT invoice_id, email FROM xero_sent_emails WHERE tenant = ? ORDER BY seq",
                          (tenant,)).fetchall()
    by_invoice: dict[str, list[str]] = {}
    for invoice_id, file_name in rows:
        by_invoice.setdefault(invoice_id, []).append(file_name)
    return {"tenant": tenant, "attachments": len(rows), "by_invoice": by_invoice,
            "emails_sent": [{"invoice_id": i, "email": e} for i, e in sent]}


def attachment_routes(api: Any) -> list[Route]:
    """The routes over a ``sandbox.xero_app.XeroApi`` (its auth, tenant, limits, faults and Idempotency-Key)."""
    with api.store.transaction() as db:
        for statement in filter(str.strip, _SCHEMA.split(";")):
            db.execute(statement)

    def reply(outcome: tuple[int, str]) -> Reply:
        return Reply(*outcome)

    async def put_route(request: Request) -> Response:
        raw = await request.body()
        invoice_id, file_name = request.path_params["invoice_id"], request.path_params["file_name"]
        include = request.query_params.get("IncludeOnline", "false").lower() == "true"
        return await api._serve(request, lambda view: reply(put_attachment(view, invoice_id, file_name, raw, include)),
                                body=raw)

    async def list_route(request: Request) -> Response:
        invoice_id = request.path_params["invoice_id"]
        return await api._serve(request, lambda view: reply(list_attachments(view, invoice_id)))

    async def email_route(request: Request) -> Response:
        raw, invoice_id = await request.body(), request.path_params["invoice_id"]
        return await api._serve(request, lambda view: reply(email_invoice(view, invoice_id, raw)), body=raw)

    async def stats_route(request: Request) -> Response:
        return JSONResponse(evidence_stats(api.store, request.path_params["tenant"]))

    return [
        Route(f"{ROOT}/Invoices/{{invoice_id}}/Attachments", list_route, methods=["GET"]),
        Route(f"{ROOT}/Invoices/{{invoice_id}}/Attachments/{{file_name}}", put_route, methods=["PUT", "POST"]),
        Route(f"{ROOT}/Invoices/{{invoice_id}}/Email", email_route, methods=["POST"]),
        Route("/_sandbox/xero/{tenant}/evidence", stats_route, methods=["GET"]),
    ]
