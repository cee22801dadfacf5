"""A fake Jobber for the demo: OAuth (consent, code, rotating refresh, disconnect) and the GraphQL jobs the source asks for.

It answers the queries ``connectors.jobber`` sends (recognised by operation name, not parsed as GraphQL):
``JobsChanged`` (newest ``updatedAt`` first, relay cursors as base64 offsets), ``OneJob`` and ``Account``,
and the ``AppDisconnect`` mutation ``closeout disconnect jobber`` sends (Jobber's way to drop a connection:
"forcefully disconnect a user from your application … the GraphQL mutation: appDisconnect",
developer.getjobber.com/docs/building_your_app/app_lifecycle); after it, every token of that connection is
refused. Tokens rotate as Jobber's do: each refresh token works once (sources.md §1 [3]). The demo's refresh
token ``FAKE_REFRESH_TOKEN`` works any number of times, so the demo can start again from it.

    GET|POST /api/oauth/authorize   the consent page (sandbox.consent); Jobber's scopes are the app's, chosen in
                                    its Developer Center, so the request carries none (sources.md §1 [1])
    POST /api/oauth/token           form grant_type=authorization_code, code, redirect_uri, client_id,
                                    client_secret → {access_token, refresh_token, expires_in}; or
                                    grant_type=refresh_token, refresh_token; a refused grant → 401 invalid_grant
                                    ([?] Jobber's status for a refused grant; Closeout reads any 4xx as refused)

The fake accepts any client id and secret, but a code only for the client that asked for it. [?] whether
Jobber verifies a PKCE challenge: its authorization guide describes the client-secret flow only, so Closeout
sends none; the fake verifies one when sent. The payload shapes follow shared/reference/sources.md §1.
"""

from __future__ import annotations

import base64
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.consent import ConsentBook, MemoryDb, Provider, consent_routes

FAKE_REFRESH_TOKEN = "fake-jobber-refresh"
T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
# (title, status, customer, lines [(name, category, quantity, unit price)], signed)
JOBS: list[tuple[str, str, str, list[tuple[str, str, float, float]], bool]] = [
    ("Furnace igniter replacement", "requires_invoicing", "Harbor Dental",
     [("LAB-STD", "SERVICE", 1.5, 95.0), ("IGN-HSI", "PRODUCT", 1.0, 150.0)], True),
    ("AC capacitor swap", "requires_invoicing", "Lakeside Deli",
     [("LAB-STD", "SERVICE", 1.0, 95.0), ("CAP-45-5", "PRODUCT", 1.0, 48.5)], True),
    ("Quarterly filter change", "requires_invoicing", "Oak Street Offices",
     [("LAB-STD", "SERVICE", 0.75, 95.0), ("FLT-16X25", "PRODUCT", 4.0, 12.25)], True),
    ("Thermostat install", "requires_invoicing", "Pine Ridge Clinic",
     [("LAB-STD", "SERVICE", 2.0, 95.0), ("TSTAT-T6", "PRODUCT", 1.0, 189.0)], True),
    ("Condenser fan motor", "requires_invoicing", "Harbor Dental",
     [("LAB-STD", "SERVICE", 2.5, 95.0), ("MOT-CF-14", "PRODUCT", 1.0, 265.0)], False),
    ("Rooftop unit inspection", "active", "Oak Street Offices", [("LAB-STD", "SERVICE", 1.0, 95.0)], False),
    ("Duct cleaning (cancelled)", "archived", "Lakeside Deli", [], False),
]
CUSTOMERS = sorted({job[2] for job in JOBS})


def _id(kind: str, n: int) -> str:
    return base64.b64encode(f"gid://Jobber/{kind}/{n}".encode()).decode()


def _connection(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}


def build_jobs() -> list[dict[str, Any]]:
    """The fake account's jobs, newest ``updatedAt`` first."""
    jobs = []
    for n, (title, status, customer, lines, signed) in enumerate(JOBS, start=1):
        start = T0 + timedelta(days=n)
        done = start + timedelta(hours=3) if status == "requires_invoicing" else None
        tech = {"id": _id("User", 1 + n % 2), "name": {"full": ["Sam Ortiz", "Ana Ruiz"][n % 2]}}
        files = [{"id": _id("JobNoteFile", n), "fileName": "signature.png", "contentType": "image/png",
                  "fileSize": 20480, "url": f"https://example.invalid/{n}/signature.png", "thumbnailUrl": None}]
        jobs.append({
            "id": _id("Job", n), "jobNumber": 2000 + n, "title": title, "instructions": None, "jobStatus": status,
            "jobType": "ONE_OFF", "billingType": "FIXED_PRICE", "startAt": start.isoformat(),
            "endAt": (start + timedelta(hours=4)).isoformat(), "completedAt": done.isoformat() if done else None,
            "createdAt": (start - timedelta(days=3)).isoformat(),
            "updatedAt": ((done or start) + timedelta(minutes=5)).isoformat(),
            "total": round(sum(q * p for _, _, q, p in lines), 2), "uninvoicedTotal": 0.0,
            "client": {"id": _id("Client", CUSTOMERS.index(customer) + 1), "name": customer, "companyName": customer,
                       "isCompany": True, "emails": [{"address": "ap@example.invalid", "primary": True}],
                       "phones": [], "billingAddress": {"street1": f"{n} Main St", "street2": None, "city": "Chicago",
                                                        "province": "IL", "postalCode": "60601", "country": "US"}},
            "property": {"id": _id("Property", n), "name": None, "taxRate": None,
                         "address": {"street1": f"{n} Main St", "street2": None, "city": "Chicago", "province": "IL",
                                     "postalCode": "60601", "country": "US"}},
            "lineItems": _connection([
                {"id": _id("JobLineItem", n * 10 + i), "name": name, "description": "", "category": category,
                 "quantity": q, "unitPrice": p, "unitCost": None, "totalPrice": round(q * p, 2), "taxable": True}
                for i, (name, category, q, p) in enumerate(lines)]),
            "visits": _connection([{"id": _id("Visit", n), "title": title, "visitStatus": "COMPLETED" if done else "UPCOMING",
                                    "startAt": start.isoformat(), "endAt": (start + timedelta(hours=4)).isoformat(),
                                    "completedAt": done.isoformat() if done else None,
                                    "assignedUsers": {"nodes": [tech]}}]),
            "timeSheetEntries": _connection([]),
            "notes": _connection([{"id": _id("JobNote", n), "message": f"{title}: done as quoted.",
                                   "createdAt": start.isoformat()}]),
            "noteAttachments": _connection(files if signed else []),
        })
    return sorted(jobs, key=lambda job: job["updatedAt"], reverse=True)


class FakeJobber:
    """State of one fake account: its jobs, the consents and codes, and the tokens of each connection (a grant)."""

    def __init__(self) -> None:
        self.jobs = build_jobs()
        self.refresh_tokens: dict[str, str] = {FAKE_REFRESH_TOKEN: "demo"}  # token → its connection
        self.access_tokens: dict[str, str] = {}
        self.lock = threading.Lock()
        self.consents = ConsentBook(MemoryDb())

    async def token(self, request: Request) -> JSONResponse:
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") == "authorization_code":
            return self._exchange(form)
        with self.lock:
            given = str(form.get("refresh_token", ""))
            if form.get("grant_type") != "refresh_token" or given not in self.refresh_tokens:
                return JSONResponse({"error": "invalid_grant"}, status_code=401)
            connection = self.refresh_tokens[given] if given == FAKE_REFRESH_TOKEN else self.refresh_tokens.pop(given)
            return JSONResponse(self._issue(connection))

    def _exchange(self, form: dict[str, str]) -> JSONResponse:
        if not form.get("client_id") or not form.get("client_secret"):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.consents.redeem(form.get("code", ""), client_id=form["client_id"],
                                     redirect_uri=form.get("redirect_uri", ""), verifier=form.get("code_verifier"))
        if grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=401)
        with self.lock:
            return JSONResponse(self._issue(secrets.token_urlsafe(8)))

    def _issue(self, connection: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access_tokens[access] = connection
        self.refresh_tokens[refresh] = connection
        return {"access_token": access, "refresh_token": refresh, "expires_in": 3600}

    def _disconnect(self, access_token: str) -> dict[str, Any]:
        """appDisconnect: every token of the caller's connection stops working."""
        with self.lock:
            connection = self.access_tokens.get(access_token)
            for tokens in (self.refresh_tokens, self.access_tokens):
                for token in [token for token, owner in tokens.items() if owner == connection]:
                    del tokens[token]
        return {"data": {"appDisconnect": {"app": {"name": "Closeout"}, "userErrors": []}}}

    async def graphql(self, request: Request) -> JSONResponse:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        body = await request.json()
        query, variables = str(body.get("query", "")), body.get("variables") or {}
        if "JobsChanged" in query:
            start = int(base64.b64decode(variables["after"])) if variables.get("after") else 0
            chunk = self.jobs[start : start + int(variables.get("first", 25))]
            end = start + len(chunk)
            info = {"hasNextPage": end < len(self.jobs), "endCursor": base64.b64encode(str(end).encode()).decode()}
            return JSONResponse({"data": {"jobs": {"nodes": chunk, "pageInfo": info}}})
        if "OneJob" in query:
            return JSONResponse({"data": {"job": next((j for j in self.jobs if j["id"] == variables.get("id")), None)}})
        if "AppDisconnect" in query:
            return JSONResponse(self._disconnect(token))
        if "Account" in query:
            return JSONResponse({"data": {"account": {"id": _id("Account", 1), "name": "Fake Jobber account"}}})
        return JSONResponse({"errors": [{"message": "the fake Jobber does not know this query"}], "data": None})


def create_fake_jobber() -> Starlette:
    fake = FakeJobber()
    consent = Provider(name="Jobber", path="/api/oauth/authorize")
    return Starlette(routes=[*consent_routes(fake.consents, consent),
                             Route("/api/oauth/token", fake.token, methods=["POST"]),
                             Route("/api/graphql", fake.graphql, methods=["POST"])])


def serve_fake_jobber(*, host: str = "127.0.0.1", port: int) -> None:
    uvicorn.run(create_fake_jobber(), host=host, port=port, log_level="warning", lifespan="off")
