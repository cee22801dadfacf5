"""A fake Jobber for the demo: OAuth refresh with rotation and the GraphQL jobs the Jobber source asks for.

It answers the three queries ``connectors.jobber`` sends (recognised by operation name, not parsed as
GraphQL): ``JobsChanged`` (newest ``updatedAt`` first, relay cursors as base64 offsets), ``OneJob`` and
``Account``. Tokens rotate as Jobber's do: each refresh token works once. The initial refresh token is
``FAKE_REFRESH_TOKEN``; the payload shapes follow shared/reference/sources.md §1.
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
    """State of one fake account: its jobs and the tokens it has issued (each refresh token works once)."""

    def __init__(self) -> None:
        self.jobs = build_jobs()
        self.refresh_tokens = {FAKE_REFRESH_TOKEN}
        self.access_tokens: set[str] = set()
        self.lock = threading.Lock()

    async def token(self, request: Request) -> JSONResponse:
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        with self.lock:
            given = str(form.get("refresh_token", ""))
            if form.get("grant_type") != "refresh_token" or given not in self.refresh_tokens:
                return JSONResponse({"error": "invalid_grant"}, status_code=401)
            if given != FAKE_REFRESH_TOKEN:
                self.refresh_tokens.discard(given)
            access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
            self.access_tokens.add(access)
            self.refresh_tokens.add(refresh)
        return JSONResponse({"access_token": access, "refresh_token": refresh, "expires_in": 3600})

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
        if "Account" in query:
            return JSONResponse({"data": {"account": {"id": _id("Account", 1), "name": "Fake Jobber account"}}})
        return JSONResponse({"errors": [{"message": "the fake Jobber does not know this query"}], "data": None})


def create_fake_jobber() -> Starlette:
    fake = FakeJobber()
    return Starlette(routes=[Route("/api/oauth/token", fake.token, methods=["POST"]),
                             Route("/api/graphql", fake.graphql, methods=["POST"])])


def serve_fake_jobber(*, host: str = "127.0.0.1", port: int) -> None:
    uvicorn.run(create_fake_jobber(), host=host, port=port, log_level="warning", lifespan="off")
