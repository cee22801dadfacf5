"""An ASGI imitation of the Xero Accounting API under ``/api.xro/2.0``, state in SQLite (xero-python 15.2.0 talks to it).

    GET       /api.xro/2.0/Contacts|Items|Invoices    where=, page=, pageSize= (Invoices also InvoiceNumbers=, IDs=,
                                                     Statuses=); unknown where syntax → 400
    PUT       /api.xro/2.0/Contacts|Items|Invoices    create; ``{"Invoices": [...]}`` or one bare element
    POST      /api.xro/2.0/Contacts|Items|Invoices    update (with the id) or create
    GET       /api.xro/2.0/Contacts|Invoices/{id}      Invoices also by InvoiceNumber; unknown → 404
    PUT|POST  /api.xro/2.0/Invoices/{id}/Attachments/{FileName}, GET .../Attachments, POST .../Email  (xero_attachments)

Every API call needs ``Authorization: Bearer <token>`` (a token starting with ``expired`` or ``invalid``
gets Xero's 401 problem JSON) and ``xero-tenant-id`` (missing, or starting with ``forbidden`` → 403).
Every PUT/POST body is first checked against the official OpenAPI schema (sandbox.xero_schema): a body
that breaks it gets a 400 ValidationException naming each problem. ``summarizeErrors=false`` (any case)
answers 200 with every element, failed ones marked ``HasErrors``/``ValidationErrors``; otherwise any
failed element makes a 400 ValidationException listing the failed elements (the valid ones are still
created, as on Xero). ``Idempotency-Key`` on PUT/POST replays the first answer for 6 minutes; the same key
on a different request → 400. Invoices: ACCREC numbers are unique ("Invoice # must be unique."), missing
ones become INV-0001, …; tax is computed per line from TaxType (OUTPUT 15 %, NONE / EXEMPTOUTPUT /
ZERORATEDOUTPUT 0 %) and LineAmountTypes. New tenants are seeded with items LABOUR, PARTS, MATERIALS, FEE,
DISCOUNT and accounts 200 Sales, 260 Other Revenue, 400 Advertising.

OAuth: ``POST /connect/token`` rotates single-use refresh tokens (sandbox.xero_tokens); an access token it
issued is refused with 401 TokenExpired once expired. Admin (no auth): ``GET /_sandbox/xero/{tenant}/stats``; ``POST /_sandbox/xero/{tenant}/faults`` with
``{"kind": "throttle" | "server_error" | "slow" | "reset" | "lost_response", "count": 1, "seconds": 0}``:
the tenant's next ``count`` API calls answer 429 (Retry-After, X-Rate-Limit-Problem: minute), 500, do the
work then wait ``seconds``, drop the connection without doing the work, or do the work, commit it, and
drop the connection instead of answering. ``POST /_sandbox/xero/{tenant}/chaos`` with ``{"rate": 0.03,
"kinds": [...], "seconds": 0.05}`` fails each later call at random instead (sandbox.chaos).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.broken_response import BrokenResponse
from sandbox.fault_admin import admin_routes
from sandbox.rate_limits import RateLimits
from sandbox.xero_attachments import attachment_routes
from sandbox.xero_entities import now_ms, save_contact, save_invoice, save_item
from sandbox.xero_reply import Reply
from sandbox.xero_schema import body_problems
from sandbox.xero_tokens import XeroTokens, token_routes
from sandbox.xero_store import StoredReply, TenantView, XeroStore, dumps, fingerprint, loads
from sandbox.xero_where import WhereError, parse_where

ROOT = "/api.xro/2.0"
COLLECTIONS = {"contacts": ("Contacts", "Contact", "ContactID", save_contact),
               "items": ("Items", "Item", "ItemID", save_item),
               "invoices": ("Invoices", "Invoice", "InvoiceID", save_invoice)}
_REFUSED_TOKENS = ("expired", "invalid")
THROTTLE_RETRY_AFTER = 2


def _json(status: int, value: Any) -> Reply:
    return Reply(status, dumps(value))


def _validation(elements: list[dict[str, Any]], message: str = "A validation exception occurred") -> Reply:
    return _json(400, {"ErrorNumber": 10, "Type": "ValidationException", "Message": message, "Elements": elements})


def _problem(status: int, title: str, detail: str) -> Reply:
    return _json(status, {"Type": None, "Title": title, "Status": status, "Detail": detail,
                          "Instance": str(uuid.uuid4()), "Extensions": {}})


def _response(reply: Reply) -> Response | BrokenResponse:
    if reply.broken:
        return BrokenResponse()
    return Response(reply.body, status_code=reply.status, media_type="application/json", headers=dict(reply.headers))


def _not_served() -> Response:
    return JSONResponse({"Title": "Not Found", "Status": 404, "Detail": "The sandbox serves Contacts, Items, Invoices"},
                        status_code=404)


def _envelope(collection: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "Closeout sandbox", "DateTimeUTC": now_ms(),
            collection: elements}


class XeroApi:
    def __init__(self, store: XeroStore, limits: RateLimits) -> None:
        self.store, self.limits, self.tokens = store, limits, XeroTokens(store)

    def _run(self, tenant: str, key: str | None, print_: str, work) -> tuple[Reply, float]:
        with self.store.transaction() as db:
            view = self.store.open_tenant(db, tenant)
            fault = self.store.pop_fault(db, tenant)
            if fault and fault.kind == "throttle":
                return Reply(429, "", (("Retry-After", str(THROTTLE_RETRY_AFTER)),
                                       ("X-Rate-Limit-Problem", "minute"))), 0.0
            if fault and fault.kind == "server_error":
                return _json(500, {"ErrorNumber": 500, "Type": "UnknownErrorException",
                                   "Message": "An error occurred in Xero. Check the API Status page"}), 0.0
            if fault and fault.kind == "reset":
                return Reply(0, "", broken=True), 0.0
            delay = fault.seconds if fault and fault.kind == "slow" else 0.0
            stored = self.store.reply_for(db, tenant, key) if key else None
            if stored is not None:
                if stored.fingerprint != print_:
                    return _validation([], f"Idempotency Key {key} is used with a different request."), delay
                return Reply(stored.status, stored.body), delay
            reply = work(view)
            if key:
                self.store.save_reply(db, tenant, key, StoredReply(print_, reply.status, reply.body))
        if fault and fault.kind == "lost_response":
            return Reply(0, "", broken=True), 0.0
        return reply, delay

    async def _serve(self, request: Request, work, *, body: bytes = b"") -> Response | BrokenResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _response(_problem(401, "Unauthorized", "AuthenticationUnsuccessful"))
        if token.lower().startswith(_REFUSED_TOKENS) or (
                token.startswith("xat-") and await run_in_threadpool(self.tokens.expired, token)):
            return _response(_problem(401, "Unauthorized", "TokenExpired: token expired"))
        tenant = request.headers.get("xero-tenant-id", "").strip()
        if not tenant or tenant.lower().startswith("forbidden"):
            return _response(_problem(403, "Forbidden", "AuthenticationUnsuccessful"))
        refusal = self.limits.acquire("xero", tenant)
        if refusal is not None:
            return Response("", status_code=429, headers={"Retry-After": str(refusal.retry_after),
                                                          "X-Rate-Limit-Problem": refusal.problem})
        try:
            key = request.headers.get("idempotency-key") if request.method in ("PUT", "POST") else None
            print_ = fingerprint(request.method, request.url.path + "?" + request.url.query, body)
            reply, delay = await run_in_threadpool(self._run, tenant, key, print_, work)
            if delay:
                await asyncio.sleep(delay)
            response = _response(reply)
            if self.limits.enabled and isinstance(response, Response):
                remaining = self.limits.remaining("xero", tenant)
                response.headers["X-MinLimit-Remaining"] = str(remaining.minute)
                response.headers["X-DayLimit-Remaining"] = str(remaining.day)
            return response
        finally:
            self.limits.release("xero", tenant)

    async def write(self, request: Request) -> Response | BrokenResponse:
        if request.path_params["collection"].lower() not in COLLECTIONS:
            return _not_served()
        collection, kind, _, save = COLLECTIONS[request.path_params["collection"].lower()]
        raw = await request.body()
        summarize = request.query_params.get("summarizeErrors", "true").lower() != "false"
        create_only = request.method == "PUT"

        def work(view: TenantView) -> Reply:
            try:
                body = loads(raw)
            except ValueError:
                return _validation([], "The request body is not valid JSON")
            if isinstance(body, dict) and collection not in body:
                body = {collection: [body]}
            problems = body_problems(collection, body)
            if problems:
                return _validation([{"ValidationErrors": [{"Message": p} for p in problems]}],
                                   "The request does not match the Xero API schema")
            results, failed = [], []
            for element in body[collection]:
                saved, errors = save(view, element, create_only=create_only)
                results.append(saved)
                if errors:
                    failed.append(saved)
            if failed and summarize:
                return _validation(failed)
            return _json(200, _envelope(collection, results))

        return await self._serve(request, work, body=raw)

    async def list(self, request: Request) -> Response | BrokenResponse:
        if request.path_params["collection"].lower() not in COLLECTIONS:
            return _not_served()
        collection, kind, id_field, _ = COLLECTIONS[request.path_params["collection"].lower()]
        params = request.query_params

        def work(view: TenantView) -> Reply:
            try:
                keep = parse_where(params.get("where", ""))
            except WhereError as exc:
                return _validation([], str(exc))
            rows = [row for row in view.all(kind) if keep(row)]
            for param, field in (("InvoiceNumbers", "InvoiceNumber"), ("IDs", id_field), ("Statuses", "Status")):
                if params.get(param):
                    wanted = {value.strip().lower() for value in params[param].split(",")}
                    rows = [row for row in rows if str(row.get(field, "")).lower() in wanted]
            envelope = _envelope(collection, rows)
            if params.get("page"):
                page, size = max(int(params["page"]), 1), min(max(int(params.get("pageSize", 100)), 1), 1000)
                envelope[collection] = rows[(page - 1) * size: page * size]
                envelope["pagination"] = {"page": page, "pageSize": size, "pageCount": -(-len(rows) // size),
                                          "itemCount": len(rows)}
            return _json(200, envelope)

        return await self._serve(request, work)

    async def read(self, request: Request) -> Response | BrokenResponse:
        if request.path_params["collection"].lower() not in COLLECTIONS:
            return _not_served()
        collection, kind, _, _ = COLLECTIONS[request.path_params["collection"].lower()]
        ident = request.path_params["ident"]

        def work(view: TenantView) -> Reply:
            found = view.get(kind, ident) or (view.by_number(kind, ident) if kind == "Invoice" else None)
            if found is None:
                return Reply(404, '"The resource you\'re looking for cannot be found"')
            return _json(200, _envelope(collection, [found]))

        return await self._serve(request, work)


def xero_routes(store: XeroStore, limits: RateLimits | None = None) -> list[Route]:
    """The Xero API and admin routes over ``store``, mounted beside the QBO ones in sandbox.server."""
    api = XeroApi(store, limits or RateLimits())
    collection = "{collection:str}"
    return [
        *attachment_routes(api),  # Invoices/{id}/Attachments and /Email (sandbox.xero_attachments)
        Route(f"{ROOT}/{collection}", api.list, methods=["GET"]),
        Route(f"{ROOT}/{collection}", api.write, methods=["PUT", "POST"]),
        Route(f"{ROOT}/{collection}/{{ident}}", api.read, methods=["GET"]),
        *token_routes(api.tokens),
        *admin_routes(store, "xero", "tenant"),
    ]
