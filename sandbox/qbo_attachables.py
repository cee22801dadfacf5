"""QBO sandbox attachments and invoice e-mail: ``/upload`` (multipart Attachable), Attachable queries, ``/invoice/{id}/send``.

    POST /v3/company/{realm}/upload        multipart/form-data: ``file_metadata_<n>`` (Attachable JSON whose
                                           AttachableRef names the Invoice) + ``file_content_<n>`` (the file;
                                           ``Content-Transfer-Encoding: base64`` is decoded, as python-quickbooks
                                           sends it). Answers ``{"AttachableResponse": [{"Attachable": {...}}]}``.
    SELECT * FROM Attachable WHERE AttachableRef.EntityRef.Value = '12'     (through the usual /query)
    GET  /v3/company/{realm}/attachable/{id}
    POST /v3/company/{realm}/invoice/{id}/send[?sendTo=addr]   marks the invoice EmailStatus EmailSent and
                                           records the e-mail; no sendTo and no BillEmail → 2020.

Limits as Intuit documents them: a file up to 100 MB, of the listed types only (AI, CSV, DOC, DOCX, EPS, GIF,
JPEG, JPG, ODS, PDF, PNG, RTF, TIF, TXT, XLS, XLSX, XML). The reference records no fault codes for these
refusals, so the sandbox answers 2050 for an oversize file and 2170 for a type QBO refuses (ValidationFault,
400). A referenced Invoice that does not exist is 610. The bytes are kept in the state db (``qbo_files``).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.qbo_query import Query, run_query
from sandbox.qbo_store import QboStore, RealmView
from sandbox.qbo_wire import QboFault, Reply, loads, not_found, now_stamp, ok

MAX_FILE_BYTES = 100 * 1024 * 1024
CONTENT_TYPES = frozenset({
    "application/postscript", "text/csv", "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "image/gif", "image/jpeg",
    "image/jpg", "image/pjpeg", "application/vnd.oasis.opendocument.spreadsheet", "application/pdf", "image/png",
    "application/rtf", "text/rtf", "image/tiff", "text/plain", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/xml", "application/xml",
})
_SCHEMA = """
CREATE TABLE IF NOT EXISTS qbo_files (realm TEXT NOT NULL, id TEXT NOT NULL, content BLOB NOT NULL,
    PRIMARY KEY (realm, id));
CREATE TABLE IF NOT EXISTS qbo_sent_emails (seq INTEGER PRIMARY KEY AUTOINCREMENT, realm TEXT NOT NULL,
    invoice_id TEXT NOT NULL, send_to TEXT NOT NULL, at TEXT NOT NULL);
"""


def _parts(body: bytes, content_type: str) -> dict[str, tuple[dict[str, str], bytes]]:
    """The named parts of a multipart body; tolerant of the bare ``\\n`` line ends python-quickbooks sends."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise QboFault("2010", "Request has invalid or unsupported property", "not a multipart/form-data body")
    parts: dict[str, tuple[dict[str, str], bytes]] = {}
    for chunk in body.split(b"--" + match.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.lstrip(b"\r\n")
        crlf, lf = chunk.find(b"\r\n\r\n"), chunk.find(b"\n\n")
        split, width = (crlf, 4) if crlf != -1 and (lf == -1 or crlf < lf) else (lf, 2)
        head, content = (chunk[:split], chunk[split + width:]) if split != -1 else (chunk, b"")
        headers = {}
        for line in head.decode("utf-8", "replace").splitlines():
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        name_match = re.search(r'name="([^"]+)"', headers.get("content-disposition", ""))
        if name_match:
            parts[name_match.group(1)] = (headers, content.rstrip(b"\r\n"))
    return parts


def _file_bytes(headers: dict[str, str], content: bytes) -> bytes:
    if headers.get("content-transfer-encoding", "").lower() == "base64":
        try:
            return base64.b64decode(b"".join(content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise QboFault("2010", "Request has invalid or unsupported property", "file content is not base64") from None
    return content


def upload(view: RealmView, body: bytes, content_type: str) -> Reply:
    """Store each metadata/content pair as an Attachable linked to its entity; one answer per pair."""
    parts = _parts(body, content_type)
    answers = []
    for name in sorted(n for n in parts if n.startswith("file_metadata_")):
        suffix = name.removeprefix("file_metadata_")
        meta = loads(parts[name][1])
        content = parts.get(f"file_content_{suffix}")
        if content is None:
            raise QboFault("2020", "Required param missing, need to supply the required value for the API",
                           f"Required parameter file_content_{suffix} is missing in the request")
        data = _file_bytes(*content)
        kind = str(meta.get("ContentType") or content[0].get("content-type", "")).split(";")[0].strip().lower()
        if kind not in CONTENT_TYPES:
            raise QboFault("2170", "Invalid Content Type", f"Files of type {kind or 'unknown'} are not supported")
        if len(data) > MAX_FILE_BYTES:
            raise QboFault("2050", "Invalid File Size", f"The file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
        refs = [ref for ref in meta.get("AttachableRef") or [] if (ref.get("EntityRef") or {}).get("value")]
        for ref in refs:
            entity = str(ref["EntityRef"].get("type") or "Invoice")
            if view.get(entity, str(ref["EntityRef"]["value"])) is None:
                raise not_found(entity, str(ref["EntityRef"]["value"]))
        ident = view.next_id("Attachable")
        stamp = now_stamp()
        attachable = {
            "Id": ident, "SyncToken": "0", "domain": "QBO", "sparse": False,
            "FileName": meta.get("FileName") or f"attachment-{ident}", "ContentType": kind, "Size": len(data),
            "Note": meta.get("Note") or "", "Category": meta.get("Category") or ("Image" if kind.startswith("image/")
                                                                                 else "Document"),
            "AttachableRef": [{"EntityRef": {"type": str(r["EntityRef"].get("type") or "Invoice"),
                                             "value": str(r["EntityRef"]["value"])},
                               "IncludeOnSend": bool(r.get("IncludeOnSend"))} for r in refs],
            "FileAccessUri": f"/v3/company/{view.realm}/download/{ident}",
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        }
        view.put("Attachable", attachable)
        view.db.execute("INSERT INTO qbo_files (realm, id, content) VALUES (?, ?, ?)", (view.realm, ident, data))
        answers.append({"Attachable": attachable})
    if not answers:
        raise QboFault("2020", "Required param missing, need to supply the required value for the API",
                       "Required parameter file_metadata_0 is missing in the request")
    return ok({"AttachableResponse": answers})


def query_attachables(query: Query, view: RealmView) -> dict[str, Any]:
    """Run an Attachable query; ``AttachableRef.EntityRef.*`` conditions match any of an Attachable's refs."""
    rows = view.rows("Attachable")
    flat = [{**row, "AttachableRef": ref, "_row": index}
            for index, row in enumerate(rows) for ref in (row.get("AttachableRef") or [{}])]
    answer = run_query(Query(query.entity, False, query.where, query.order, 1, len(flat) or 1), "Attachable", flat)
    seen = list(dict.fromkeys(hit["_row"] for hit in answer.get("Attachable", [])))
    hits = [rows[index] for index in seen]
    if query.count:
        return {"totalCount": len(hits)}
    page = hits[query.start - 1: query.start - 1 + query.max_results]
    return {"Attachable": page, "startPosition": query.start, "maxResults": len(page)} if page else {}


def send_invoice(view: RealmView, ident: str, send_to: str | None) -> Reply:
    """E-mail the invoice: to ``send_to`` (which becomes its BillEmail), else to its BillEmail."""
    invoice = view.get("Invoice", ident)
    if invoice is None:
        raise not_found("Invoice", ident)
    address = send_to or (invoice.get("BillEmail") or {}).get("Address")
    if not address or "@" not in address:
        raise QboFault("2020", "Required param missing, need to supply the required value for the API",
                       "Required parameter BillEmail.Address is missing in the request", element="BillEmail")
    stamp = now_stamp()
    invoice.update({"BillEmail": {"Address": address}, "EmailStatus": "EmailSent",
                    "DeliveryInfo": {"DeliveryType": "Email", "DeliveryTime": stamp},
                    "SyncToken": str(int(invoice.get("SyncToken") or 0) + 1)})
    invoice.setdefault("MetaData", {})["LastUpdatedTime"] = stamp
    view.put("Invoice", invoice)
    view.db.execute("INSERT INTO qbo_sent_emails (realm, invoice_id, send_to, at) VALUES (?, ?, ?, ?)",
                    (view.realm, ident, address, stamp))
    return ok({"Invoice": invoice})


def evidence_stats(store: QboStore, realm: str) -> dict[str, Any]:
    """What the tests and the demo read: attachables per invoice and every e-mail sent."""
    with store.transaction() as db:
        view = RealmView(db, realm)
        per_invoice: dict[str, list[str]] = {}
        for row in view.rows("Attachable"):
            for ref in row.get("AttachableRef") or []:
                per_invoice.setdefault(ref["EntityRef"]["value"], []).append(row["FileName"])
        sent = [{"invoice_id": i, "send_to": to} for i, to in db.execute(
            "SELECT invoice_id, send_to FROM qbo_sent_emails WHERE realm = ? ORDER BY seq", (realm,))]
    return {"realm": realm, "attachables": sum(len(v) for v in per_invoice.values()),
            "by_invoice": per_invoice, "emails_sent": sent}


def attachable_routes(api: Any) -> list[Route]:
    """The routes over a ``sandbox.qbo_app.QboApi``; mount them before its generic ``/{entity}`` routes."""
    with api.store.transaction() as db:
        for statement in filter(str.strip, _SCHEMA.split(";")):
            db.execute(statement)

    async def upload_route(request: Request) -> Response:
        raw, kind = await request.body(), request.headers.get("content-type", "")
        return await api._serve(request, lambda view: upload(view, raw, kind), replayable=True)

    async def send_route(request: Request) -> Response:
        ident, send_to = request.path_params["ident"], request.query_params.get("sendTo")
        return await api._serve(request, lambda view: send_invoice(view, ident, send_to), replayable=True)

    async def stats_route(request: Request) -> Response:
        return JSONResponse(evidence_stats(api.store, request.path_params["realm"]))

    return [
        Route("/v3/company/{realm}/upload", upload_route, methods=["POST"]),
        Route("/v3/company/{realm}/invoice/{ident}/send", send_route, methods=["POST"]),
        Route("/_sandbox/qbo/{realm}/evidence", stats_route, methods=["GET"]),
    ]
