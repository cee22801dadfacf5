"""An ASGI imitation of the QuickBooks Online v3 API under ``/v3/company/{realm}/...``, state in SQLite.

Endpoints (python-quickbooks 0.9.12 talks to these unchanged; ``minorversion`` is accepted and ignored):

    POST /v3/company/{realm}/query            body = SQL, Content-Type application/text
    GET  /v3/company/{realm}/query?query=SQL  (also Preferences, CompanyInfo, TaxCode, TaxRate, Class, Department, Term)
    POST /v3/company/{realm}/customer|item|invoice[?requestid=..][&include=allowduplicatedocnum]
         create without Id; update with Id + SyncToken (stale → 5010; ``sparse: true`` merges the fields sent
         over the stored ones, a Line array replacing the lines; payments applied keep counting in Balance;
         an update of a voided invoice → 6000 [?], sandbox.qbo_entities.save_entity)
    POST /v3/company/{realm}/payment[?requestid=..]   create only: each Line's Amount lowers the Balance of
         the invoice in its LinkedTxn (sandbox.qbo_payments); also a batch item; Payment queries
    POST /v3/company/{realm}/invoice?operation=void   body {Id, SyncToken} (the SDK's Invoice.void): amounts,
         Qty, tax and Balance become 0, PrivateNote gets "Voided" prepended (sandbox.qbo_credits)
    POST /v3/company/{realm}/creditmemo[?requestid=..]   create only, lines priced and taxed as an invoice's;
         Balance = RemainingCredit = TotalAmt, no invoice's Balance moves (QBO applies a credit through a
         Payment; sandbox.qbo_credits); also a batch item; CreditMemo queries (``DocNumber in (...)``, ...)
    GET  /v3/company/{realm}/customer|item|invoice|payment|creditmemo|taxcode|taxrate|account|class|department|
         term/{id}
    GET  /v3/company/{realm}/companyinfo/{realm}   GET /v3/company/{realm}/preferences      unknown id → 610
    POST /v3/company/{realm}/batch[?requestid=..]   up to 30 create/update items, answered by bId (qbo_batch)
    POST /v3/company/{realm}/upload, invoice/{id}/send; Attachable queries      (sandbox.qbo_attachables)

Every API call needs ``Authorization: Bearer <token>``. Any non-empty token is accepted except one that
starts with ``expired`` or ``invalid``; a missing or refused token gets Intuit's 401 body (§1.2).
So does an access token the sandbox's Intuit token endpoint issued once its hour is over (sandbox.qbo_oauth).
A POST with ``requestid`` stores (realm, requestid) → (status, body) and replays it exactly, even for a
different body; a requestid over 50 characters (36 on /batch), or with it a bId over 10, is refused (2050).
Faults follow ledgers.md §1.2: 6140 a DocNumber another Invoice or CreditMemo has (one number space,
sandbox.qbo_entities.check_doc_number), 6240 duplicate name, 5010 stale SyncToken, 2020
missing field, 2500 unknown Item/Customer/TaxCode/Class/Department/Term/ParentRef or a currency other than
the home one without multicurrency, 2010 a field QBO does not know (sandbox.qbo_schema), 2050 a string over
its documented length (DocNumber 21, PrivateNote 4000, ...), 6000 no lines / DueDate before TxnDate / a
non-US line without a tax code, 6070 Amount ≠ Qty × UnitPrice, 4000/4001 bad query, 610 unknown id.
Payments (sandbox.qbo_payments): 2020 no CustomerRef/TotalAmt/LinkedTxn, 2500 an unknown invoice, 6000 an
invoice of another customer, a line over the invoice's Balance, an amount ≤ 0, or lines over TotalAmt.
Void (sandbox.qbo_credits): 2020 no Id, 610 unknown, 5010 stale SyncToken, 6000 a payment applied or already
voided. CreditMemo: the invoice's 2020/2500/2010/2050/6000/6070, 6140 a number an Invoice or another
CreditMemo has ([?] undocumented for credit memos; refused, the safe side).

Each realm is created on first use as a US company with Automated Sales Tax, home currency USD, no
multicurrency and a Chicago address (sandbox.qbo_settings), and seeded with:

    Items     1 Labour (Service, 95.00)       2 Parts (NonInventory)      3 Materials (NonInventory)
              4 Service fee (Service, 75.00)  5 Discount (Service)        6 After-hours labour (Service, 142.50)
              7 Travel (Service, 45.00)
    Accounts  1 Services, 2 Sales of Product Income, 3 Discounts given (Income), 4 Inventory Asset,
              5 Cost of Goods Sold
    TaxCodes  US: TAX, NON (a line without TaxCodeRef is NON) and AST's 2 Illinois, 3 Chicago, 4 Wisconsin,
    TaxRates  5 Milwaukee, 6 Sandbox default; CA/GB/AU: their usual codes (sandbox.qbo_tax)
    Classes   1 Installation, 2 Service, 3 Maintenance      Departments  1 North, 2 South
    Terms     1 Due on receipt (0 days), 2 Net 15, 3 Net 30, 4 Net 60
    Preferences, CompanyInfo   from the settings

Tax (sandbox.qbo_tax): with AST, TAX lines are taxed at the rate of the invoice's ShipAddr (else the
customer's, else the company address); otherwise each line's TaxCodeRef picks its rates. TxnTaxDetail
carries TotalTax and one TaxLine per rate; TotalAmt and Balance include the tax. A new invoice without
DueDate is due after its SalesTermRef's DueDays, else 30 days after TxnDate (which defaults to today).
DocNumber is never generated (custom numbers on). Batch items cannot see each other's work, and their
answers come back in reverse order.

Admin (no auth): ``GET /_sandbox/qbo/{realm}/stats`` → invoices, customers, requests served,
duplicate_doc_numbers, invoice_total; ``GET|POST /_sandbox/qbo/{realm}/settings`` with
``{"country": "US"|"CA"|"GB"|"AU", "automated_sales_tax": true, "home_currency": "USD",
"multicurrency": false, "company_address": {PhysicalAddress}}`` (any subset; sandbox.qbo_settings) reads or
changes the company; ``POST /_sandbox/qbo/{realm}/faults`` with
``{"kind": "throttle" | "server_error" | "slow" | "reset" | "lost_response", "count": 1, "seconds": 0}``
makes the realm's next ``count`` API calls answer the XML 429 throttle body, a 500 SystemFault, (slow)
do the work and commit, then wait ``seconds`` before answering, (reset) drop the connection without
doing anything, or (lost_response) do the work, commit it, and drop the connection instead of
answering; ``POST /_sandbox/qbo/{realm}/chaos`` ``{"rate": 0.03, "kinds": [...], "seconds": 0.05}``
fails each later call at random instead (sandbox.chaos); ``GET /_sandbox/health``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.broken_response import BrokenResponse
from sandbox.fault_admin import admin_routes
from sandbox.qbo_attachables import attachable_routes, query_attachables
from sandbox.qbo_batch import run_batch
from sandbox.qbo_oauth import QboTokens, qbo_oauth_routes
from sandbox.qbo_credits import WRITABLE, save_document, void_invoice
from sandbox.qbo_query import parse_query, run_query
from sandbox.qbo_store import QboStore, RealmView
from sandbox.rate_limits import RateLimits
from sandbox.qbo_wire import (QboFault, Reply, dumps, loads, not_found, ok, system_fault, throttled,
                              unauthorized)

ENTITIES = {name.lower(): name for name in ("Customer", "Item", "Invoice", "TaxCode", "TaxRate", "Account",
                                            "Attachable", "Class", "Department", "Term", "Preferences",
                                            "CompanyInfo", "Payment", "CreditMemo")}
# requestid: "maximum length of 50 characters … batch ID 36 characters" (blogs.intuit.com/2015/04/06/15346,
# ledgers.md §1.3). The Fault an over-long one gets is not documented; the sandbox answers 2050, the
# string-length Fault, without doing the work.
MAX_REQUEST_ID, MAX_BATCH_REQUEST_ID = 50, 36
_REFUSED_TOKENS = ("expired", "invalid")
_BROKEN = Reply(0, "", "application/json")
"""Marker reply: answer with a BrokenResponse (the reset and lost_response faults)."""


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _authorized(request: Request) -> bool:
    token = _bearer(request)
    return bool(token) and not token.lower().startswith(_REFUSED_TOKENS)


def _response(reply: Reply) -> Response:
    return Response(reply.body, status_code=reply.status, media_type=reply.content_type)


def _request_id_fault(request_id: str, limit: int) -> Reply:
    return QboFault("2050", "String length is either shorter or longer than supported by specification",
                    f"String length specified does not match the supported length. Min:1 Max:{limit} "
                    f"supplied length:{len(request_id)}", element="requestid").reply()


def _unsupported(detail: str) -> QboFault:
    return QboFault("500", "Unsupported Operation", detail)


class QboApi:
    """The request handlers; each API call is one store transaction (see QboStore)."""

    def __init__(self, store: QboStore, limits: RateLimits) -> None:
        self.store, self.limits, self.tokens = store, limits, QboTokens(store)

    async def _expired(self, token: str) -> bool:
        """True for a token the sandbox's Intuit endpoint issued whose hour is over (sandbox.qbo_oauth)."""
        return token.startswith(self.tokens.access_prefix) and await run_in_threadpool(self.tokens.expired, token)

    def _run(self, realm: str, request_id: str | None, work: Callable[[RealmView], Reply]) -> tuple[Reply, float]:
        with self.store.transaction() as db:
            view = self.store.open_realm(db, realm)
            fault = self.store.pop_fault(db, realm)
            if fault and fault.kind == "throttle":
                return throttled(), 0.0
            if fault and fault.kind == "server_error":
                return system_fault(), 0.0
            if fault and fault.kind == "reset":
                return _BROKEN, 0.0
            delay = fault.seconds if fault and fault.kind == "slow" else 0.0
            stored = self.store.reply_for(db, realm, request_id) if request_id else None
            if stored:
                return stored, delay
            try:
                reply = work(view)
            except QboFault as exc:
                reply = exc.reply()
            if request_id:
                self.store.save_reply(db, realm, request_id, reply)
        if fault and fault.kind == "lost_response":
            return _BROKEN, 0.0
        return reply, delay

    async def _serve(self, request: Request, work: Callable[[RealmView], Reply], *,
                     replayable: bool = False, batch: bool = False) -> Response | BrokenResponse:
        if not _authorized(request) or await self._expired(_bearer(request)):
            return _response(unauthorized())
        realm = request.path_params["realm"]
        if self.limits.acquire("qbo", realm) is not None:
            return _response(throttled())
        if batch and self.limits.acquire("qbo-batch", realm) is not None:
            self.limits.release("qbo", realm)
            return _response(throttled())
        try:
            request_id = request.query_params.get("requestid") if replayable else None
            limit = MAX_BATCH_REQUEST_ID if batch else MAX_REQUEST_ID
            if request_id is not None and not 1 <= len(request_id) <= limit:
                return _response(_request_id_fault(request_id, limit))
            reply, delay = await run_in_threadpool(self._run, realm, request_id, work)
            if reply is _BROKEN:
                return BrokenResponse()
            if delay:
                await asyncio.sleep(delay)
            return _response(reply)
        finally:
            self.limits.release("qbo", realm)
            if batch:
                self.limits.release("qbo-batch", realm)

    async def query(self, request: Request) -> Response:
        if request.method == "GET":
            sql = request.query_params.get("query", "")
        else:
            sql = (await request.body()).decode("utf-8", "replace")

        def work(view: RealmView) -> Reply:
            parsed = parse_query(sql)
            if parsed.entity.lower() == "attachable":  # AttachableRef is a list: sandbox.qbo_attachables
                return ok({"QueryResponse": query_attachables(parsed, view)})
            name = ENTITIES.get(parsed.entity.lower())
            if not name:
                raise QboFault("4001", "Invalid query",
                               f"QueryValidationError: Invalid context declaration : {parsed.entity}")
            return ok({"QueryResponse": run_query(parsed, name, view.rows(name))})

        return await self._serve(request, work)

    async def write(self, request: Request) -> Response:
        entity = ENTITIES.get(request.path_params["entity"].lower())
        params = dict(request.query_params)
        raw = await request.body()

        def work(view: RealmView) -> Reply:
            if entity not in WRITABLE:
                raise _unsupported(f"Operation create/update is not supported for {request.path_params['entity']}.")
            operation = params.get("operation", "update")
            # ?operation=void on an invoice: python-quickbooks' Invoice.void, rules in sandbox.qbo_credits.
            if operation not in ("update", "void") or (operation == "void" and entity != "Invoice"):
                raise _unsupported(f"Operation {params['operation']} is not supported by the sandbox.")
            try:
                body = loads(raw)
            except ValueError:
                raise QboFault("2010", "Request has invalid or unsupported property", "The body is not JSON") from None
            if operation == "void":
                return ok({entity: void_invoice(view, body)})
            return ok({entity: save_document(view, entity, body, params)})

        return await self._serve(request, work, replayable=True)

    async def batch(self, request: Request) -> Response | BrokenResponse:
        raw = await request.body()
        request_id = request.query_params.get("requestid")

        def work(view: RealmView) -> Reply:
            try:
                body = loads(raw)
            except ValueError:
                raise QboFault("2010", "Request has invalid or unsupported property", "The body is not JSON") from None
            return run_batch(view, body, request_id)

        return await self._serve(request, work, replayable=True, batch=True)

    async def preferences(self, request: Request) -> Response:
        """GET …/preferences, the one Preferences object (Intuit's Preferences reference; the SDK's Preferences.get)."""
        return await self._serve(request, lambda view: ok({"Preferences": view.get("Preferences", "1")}))

    async def settings(self, request: Request) -> Response:
        """Admin: GET the realm's company settings, or POST a change to them (sandbox.qbo_settings)."""
        realm = request.path_params["realm"]
        change = None
        if request.method == "POST":
            try:
                change = loads(await request.body())
            except ValueError:
                return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        try:
            current = await run_in_threadpool(self.store.settings, realm, change)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return Response(dumps({"realm": realm, **current}), media_type="application/json")

    async def read(self, request: Request) -> Response:
        entity = ENTITIES.get(request.path_params["entity"].lower())
        ident = request.path_params["ident"]

        def work(view: RealmView) -> Reply:
            # GET …/companyinfo/{realmID}: Intuit's CompanyInfo reference reads it by the realm id.
            key = "1" if entity == "CompanyInfo" and ident == request.path_params["realm"] else ident
            found = view.get(entity, key) if entity and entity != "Preferences" else None
            if found is None:
                raise not_found(entity or request.path_params["entity"], ident)
            return ok({entity: found})

        return await self._serve(request, work)


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def qbo_routes(store: QboStore, limits: RateLimits | None = None) -> list[Route]:
    """The QBO API and admin routes over ``store``, for mounting beside other sandboxes in one app."""
    api = QboApi(store, limits or RateLimits())
    return [
        Route("/v3/company/{realm}/query", api.query, methods=["GET", "POST"]),
        Route("/v3/company/{realm}/batch", api.batch, methods=["POST"]),
        Route("/v3/company/{realm}/preferences", api.preferences, methods=["GET"]),
        Route("/_sandbox/qbo/{realm}/settings", api.settings, methods=["GET", "POST"]),
        *attachable_routes(api),  # uploads, Attachable reads, invoice e-mail: before the generic routes
        Route("/v3/company/{realm}/{entity}", api.write, methods=["POST"]),
        Route("/v3/company/{realm}/{entity}/{ident}", api.read, methods=["GET"]),
        *admin_routes(store, "qbo", "realm"),
        *qbo_oauth_routes(api.tokens),
        Route("/_sandbox/health", _health, methods=["GET"]),
    ]
