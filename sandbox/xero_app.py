"""An ASGI imitation of the Xero Accounting API under ``/api.xro/2.0``, state in SQLite (xero-python 15.2.0 talks to it).

    GET       /api.xro/2.0/Contacts|Items|Invoices|CreditNotes    where=, page=, pageSize= (Invoices also
              InvoiceNumbers=, IDs=, Statuses=); unknown where syntax → 400
    GET       /api.xro/2.0/Organisation|Currencies|TaxRates|Accounts|TrackingCategories   the organisation's
              settings and seeds (sandbox.xero_org), where= on any field (e.g. TaxType=="OUTPUT2")
    PUT       /api.xro/2.0/Contacts|Items|Invoices|CreditNotes    create; ``{"Invoices": [...]}`` or one bare element
    POST      /api.xro/2.0/Contacts|Items|Invoices|CreditNotes    update (with the id) or create; also
              /Invoices/{id}, /CreditNotes/{id} etc. An invoice update follows Xero's rules (sandbox.xero_entities
              MOVES, FINAL, LOCKED, EDIT): DRAFT/SUBMITTED/AUTHORISED invoices with no payment or credit allocated
              take new lines, amounts, contact, date and number; AUTHORISED → VOIDED (AmountDue 0) unless a
              payment or credit is allocated; PAID, VOIDED and DELETED invoices take no change ("Invoice not of
              valid status for modification.", "This document cannot be edited as it has a payment or credit
              note allocated to it.")
    GET       /api.xro/2.0/Contacts|Invoices|CreditNotes/{id}      Invoices also by InvoiceNumber; unknown → 404
    PUT|POST  /api.xro/2.0/CreditNotes    ACCRECCREDIT only (ACCPAYCREDIT refused: not served), priced and taxed
              as invoices, CreditNoteNumber unique ("Credit Note # must be unique."), missing → CN-0001, …;
              RemainingCredit = Total, Allocations [] (sandbox.xero_credits)
    PUT       /api.xro/2.0/CreditNotes/{id}/Allocations    ``{"Allocations": [{"Invoice": {"InvoiceID"}, "Amount",
              "Date"}]}`` (xero-python create_credit_note_allocation): lowers the invoice's AmountDue, raises its
              AmountCredited, lists the credit note in its CreditNotes, lowers the credit note's RemainingCredit
              and lists the allocation in its Allocations; either reaching 0 becomes PAID. Refused: an amount
              over the RemainingCredit or the AmountDue, an invoice paid off or not AUTHORISED, a credit note
              not AUTHORISED, another contact or currency, a bill; unknown credit note → 404
    PUT|POST  /api.xro/2.0/Payments    create (xero-python create_payments / create_payment): the payment's
              Amount raises its AUTHORISED invoice's AmountPaid, lowers AmountDue, is listed in its Payments,
              and at AmountDue 0 makes it PAID (sandbox.xero_payments); GET /Payments[/{id}] reads them back.
              Refused (ValidationException): an invoice not AUTHORISED, an Amount ≤ 0 or over AmountDue, an
              account that is unknown or neither BANK nor EnablePaymentsToAccount (seeded: 090, BANK)
    PUT|POST  /api.xro/2.0/Invoices/{id}/Attachments/{FileName}, GET .../Attachments, POST .../Email  (xero_attachments)

Every API call needs ``Authorization: Bearer <token>`` (a token starting with ``expired`` or ``invalid``
gets Xero's 401 problem JSON) and ``xero-tenant-id`` (missing, or starting with ``forbidden`` → 403).
Every PUT/POST body is first checked against the official OpenAPI schema (sandbox.xero_schema): a body
that breaks it gets a 400 ValidationException naming each problem. ``summarizeErrors=false`` (any case)
answers 200 with every element, failed ones marked ``HasErrors``/``ValidationErrors``; otherwise any
failed element makes a 400 ValidationException listing the failed elements (the valid ones are still
created, as on Xero). Invoices are validated, taxed and totalled as sandbox.xero_entities documents, rule
by rule with its source (TAX, TAXTYPE, TRACKING, DUE_DATE, CURRENCY, LINE; credit notes share them); numbers
of ACCREC invoices are unique ("Invoice # must be unique."), missing ones become INV-0001, …. New tenants are NZ/NZD
organisations seeded with items LABOUR, PARTS, MATERIALS, FEE, DISCOUNT (sandbox.xero_store).

Idempotency-Key (PUT/POST): at most 128 characters, else 400 [P spec components/parameters/idempotencyKey
"128 character max."]; the first answer is replayed for 6 minutes, the same key on a different request →
400 (ledgers.md §2.2). Keys belong to the app, not to the organisation ("Keys are per app", ledgers.md
§2.2 [S]): for an access token the sandbox's token endpoint issued, the scope is its OAuth client, so one
app reusing a key for another tenant gets the 400 (the tenant is part of the request compared). A token the
sandbox did not issue names no app, so its keys are scoped to that token and tenant. [?] whether real Xero
refuses or replays a key reused across tenants: either way Closeout's request key names its company.

OAuth: ``POST /connect/token`` rotates single-use refresh tokens (sandbox.xero_tokens); an access token it
issued is refused with 401 TokenExpired once expired. Admin (no auth): ``GET /_sandbox/xero/{tenant}/stats``;
``GET|POST /_sandbox/xero/{tenant}/settings`` reads or changes the organisation (sandbox.xero_org: country,
base_currency, multicurrency, currencies, default_sales_terms, due_date_from_terms, unknown_tracking,
tracking_categories; 400 with {"error"} when unusable); ``POST /_sandbox/xero/{tenant}/faults`` with
``{"kind": "throttle" | "server_error" | "slow" | "reset" | "lost_response", "count": 1, "seconds": 0}``:
the tenant's next ``count`` API calls answer 429 (Retry-After, X-Rate-Limit-Problem: minute), 500, do the
work then wait ``seconds``, drop the connection without doing the work, or do the work, commit it, and
drop the connection instead of answering. ``POST /_sandbox/xero/{tenant}/chaos`` with ``{"rate": 0.03,
"kinds": [...], "seconds": 0.05}`` fails each later call at random instead (sandbox.chaos).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
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
from sandbox.xero_credits import allocate, allocation_problems, credit_note_problems, save_credit_note
from sandbox.xero_entities import now_ms, save_contact, save_invoice, save_item
from sandbox.xero_org import (SettingsError, account_bodies, currency_bodies, organisation_body, tax_rate_bodies,
                              tracking_bodies)
from sandbox.xero_payments import payment_problems, save_payment
from sandbox.xero_reply import Reply
from sandbox.xero_schema import body_problems
from sandbox.xero_tokens import XeroTokens, token_routes
from sandbox.xero_store import StoredReply, TenantView, XeroStore, dumps, fingerprint, loads
from sandbox.xero_where import WhereError, parse_where

ROOT = "/api.xro/2.0"
COLLECTIONS = {"contacts": ("Contacts", "Contact", "ContactID", save_contact),
               "items": ("Items", "Item", "ItemID", save_item),
               "invoices": ("Invoices", "Invoice", "InvoiceID", save_invoice),
               "payments": ("Payments", "Payment", "PaymentID", save_payment),
               "creditnotes": ("CreditNotes", "CreditNote", "CreditNoteID", save_credit_note)}
# Bodies checked against an envelope the extracted schema file does not hold; the others by body_problems.
ENVELOPE_CHECKS = {"Payments": payment_problems, "CreditNotes": credit_note_problems}
# Read-only collections computed from the organisation's settings: path → (envelope key, builder).
SETTINGS_COLLECTIONS = {
    "organisation": ("Organisations", lambda view: [organisation_body(view.tenant, view.settings())]),
    "currencies": ("Currencies", lambda view: currency_bodies(view.settings())),
    "taxrates": ("TaxRates", lambda view: tax_rate_bodies(view.settings())),
    "accounts": ("Accounts", lambda view: account_bodies(view.tenant, view.settings())),
    "trackingcategories": ("TrackingCategories", lambda view: tracking_bodies(view.tenant, view.settings())),
}
MAX_IDEMPOTENCY_KEY = 128  # spec components/parameters/idempotencyKey: "128 character max."
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
    return JSONResponse({"Title": "Not Found", "Status": 404,
                         "Detail": "The sandbox serves Contacts, Items, Invoices, Payments, CreditNotes (read and "
                                   "write) and Organisation, "
                                   "Currencies, TaxRates, Accounts, TrackingCategories (read)"}, status_code=404)


def _envelope(collection: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "Closeout sandbox", "DateTimeUTC": now_ms(),
            collection: elements}


class XeroApi:
    def __init__(self, store: XeroStore, limits: RateLimits) -> None:
        self.store, self.limits, self.tokens = store, limits, XeroTokens(store)

    def _run(self, tenant: str, scope: str, key: str | None, print_: str, work) -> tuple[Reply, float]:
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
            stored = self.store.reply_for(db, scope, key) if key else None
            if stored is not None:
                if stored.fingerprint != print_:
                    return _validation([], f"Idempotency Key {key} is used with a different request."), delay
                return Reply(stored.status, stored.body), delay
            reply = work(view)
            if key:
                self.store.save_reply(db, scope, key, StoredReply(print_, reply.status, reply.body))
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
            if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
                # Xero's exact answer to a long key is not documented: its 400 ValidationException shape
                return _response(_validation([], f"The Idempotency-Key must be {MAX_IDEMPOTENCY_KEY} characters "
                                                 f"or fewer; this one has {len(key)}."))
            app = await run_in_threadpool(self.tokens.app_of, token) if token.startswith("xat-") else None
            scope = (f"app:{app}" if app else
                     "token:" + hashlib.sha256(f"{token}\n{tenant}".encode()).hexdigest())
            # the tenant is part of the request: an app's key reused for another organisation is "different"
            print_ = fingerprint(request.method, f"{tenant.lower()} {request.url.path}?{request.url.query}", body)
            reply, delay = await run_in_threadpool(self._run, tenant, scope, key, print_, work)
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
        collection, kind, id_field, save = COLLECTIONS[request.path_params["collection"].lower()]
        ident = request.path_params.get("ident")
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
            if ident and isinstance(body, dict) and isinstance(body.get(collection), list):
                # POST /Invoices/{InvoiceID}: the path names the element to update [P spec updateInvoice]
                body[collection] = [{**e, id_field: e.get(id_field) or ident} if isinstance(e, dict) else e
                                    for e in body[collection]]
            check = ENVELOPE_CHECKS.get(collection)
            problems = check(body) if check else body_problems(collection, body)
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
        if request.path_params["collection"].lower() in SETTINGS_COLLECTIONS:
            return await self.settings_list(request)
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

    async def settings_list(self, request: Request) -> Response | BrokenResponse:
        collection, build = SETTINGS_COLLECTIONS[request.path_params["collection"].lower()]
        where = request.query_params.get("where", "")

        def work(view: TenantView) -> Reply:
            try:
                keep = parse_where(where)
            except WhereError as exc:
                return _validation([], str(exc))
            return _json(200, _envelope(collection, [row for row in build(view) if keep(row)]))

        return await self._serve(request, work)

    async def settings_admin(self, request: Request) -> Response:
        """GET: the organisation's settings; POST: apply a JSON subset of them (sandbox.xero_org)."""
        tenant = request.path_params["tenant"]
        if request.method == "GET":
            return JSONResponse(await run_in_threadpool(self.store.settings, tenant))
        try:
            spec = json.loads(await request.body())
            settings = await run_in_threadpool(self.store.update_settings, tenant, spec)
        except (ValueError, SettingsError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(settings, status_code=201)

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

    async def allocations(self, request: Request) -> Response | BrokenResponse:
        """PUT /CreditNotes/{id}/Allocations (sandbox.xero_credits ALLOCATE): each element allocated in turn."""
        ident = request.path_params["ident"]
        raw = await request.body()
        summarize = request.query_params.get("summarizeErrors", "true").lower() != "false"

        def work(view: TenantView) -> Reply:
            try:
                body = loads(raw)
            except ValueError:
                return _validation([], "The request body is not valid JSON")
            problems = allocation_problems(body)
            if not problems and not isinstance(body.get("Allocations"), list):
                problems = ["body: 'Allocations' is a required property"]
            if problems:
                return _validation([{"ValidationErrors": [{"Message": p} for p in problems]}],
                                   "The request does not match the Xero API schema")
            results, failed = [], []
            for element in body["Allocations"]:
                credit = view.get("CreditNote", ident)  # read again: an earlier element may have used some of it
                if credit is None:
                    return Reply(404, '"The resource you\'re looking for cannot be found"')
                saved, errors = allocate(view, credit, element)
                results.append(saved)
                if errors:
                    failed.append(saved)
            if failed and summarize:
                return _validation(failed)
            return _json(200, _envelope("Allocations", results))

        return await self._serve(request, work, body=raw)


def xero_routes(store: XeroStore, limits: RateLimits | None = None) -> list[Route]:
    """The Xero API and admin routes over ``store``, mounted beside the QBO ones in sandbox.server."""
    api = XeroApi(store, limits or RateLimits())
    collection = "{collection:str}"
    return [
        *attachment_routes(api),  # Invoices/{id}/Attachments and /Email (sandbox.xero_attachments)
        Route(f"{ROOT}/CreditNotes/{{ident}}/Allocations", api.allocations, methods=["PUT"]),
        Route(f"{ROOT}/{collection}", api.list, methods=["GET"]),
        Route(f"{ROOT}/{collection}", api.write, methods=["PUT", "POST"]),
        Route(f"{ROOT}/{collection}/{{ident}}", api.read, methods=["GET"]),
        Route(f"{ROOT}/{collection}/{{ident}}", api.write, methods=["POST"]),
        *token_routes(api.tokens),
        Route("/_sandbox/xero/{tenant}/settings", api.settings_admin, methods=["GET", "POST"]),
        *admin_routes(store, "xero", "tenant"),
    ]
