"""A fake Jobber with thousands of generated jobs that fails on purpose: 5xx, 429 and malformed pages."""

from __future__ import annotations

import base64
import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.fake_jobber import FakeJobber

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
FIRST_JOB = 50_000


def _id(kind: str, n: int) -> str:
    return base64.b64encode(f"gid://Jobber/{kind}/{n}".encode()).decode()


def _connection(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}


def generate_job(n: int, rng: random.Random) -> dict[str, Any]:
    """Job ``n``: mostly "requires invoicing" with labour and a part; a few still active (no invoice)."""
    start = T0 + timedelta(minutes=7 * n)
    active = rng.random() < 0.05
    done = None if active else start + timedelta(hours=2)
    lines = [("LAB-STD", "SERVICE", 1.0 + n % 3 * 0.5, 95.0), (("PART-A", "PART-B")[n % 2], "PRODUCT", 1.0, 20.0 + n % 30)]
    customer = f"Jobber Customer {n % 50}"
    address = {"street1": f"{n} Main St", "street2": None, "city": "Auckland", "province": "AKL",
               "postalCode": "1010", "country": "NZ"}
    return {
        "id": _id("Job", n), "jobNumber": FIRST_JOB + n, "title": f"Service call {n}", "instructions": None,
        "jobStatus": "active" if active else "requires_invoicing", "jobType": "ONE_OFF", "billingType": "FIXED_PRICE",
        "startAt": start.isoformat(), "endAt": (start + timedelta(hours=3)).isoformat(),
        "completedAt": done.isoformat() if done else None, "createdAt": (start - timedelta(days=2)).isoformat(),
        "updatedAt": ((done or start) + timedelta(minutes=5)).isoformat(),
        "total": round(sum(q * p for _, _, q, p in lines), 2), "uninvoicedTotal": 0.0,
        "client": {"id": _id("Client", n % 50 + 1), "name": customer, "companyName": customer, "isCompany": True,
                   "emails": [{"address": f"ap{n % 50}@example.invalid", "primary": True}], "phones": [],
                   "billingAddress": address},
        "property": {"id": _id("Property", n), "name": None, "taxRate": None, "address": address},
        "lineItems": _connection([
            {"id": _id("JobLineItem", n * 10 + i), "name": name, "description": "", "category": category,
             "quantity": q, "unitPrice": p, "unitCost": None, "totalPrice": round(q * p, 2), "taxable": True}
            for i, (name, category, q, p) in enumerate(lines)]),
        "visits": _connection([]), "timeSheetEntries": _connection([]),
        "notes": _connection([{"id": _id("JobNote", n), "message": "Done as quoted.", "createdAt": start.isoformat()}]),
        "noteAttachments": _connection([{"id": _id("JobNoteFile", n), "fileName": "signature.png",
                                         "contentType": "image/png", "fileSize": 20480,
                                         "url": f"https://example.invalid/{n}/signature.png", "thumbnailUrl": None}]),
    }


class FaultyJobber(FakeJobber):
    """``rate`` of the GraphQL calls fail (HTTP 500, HTTP 429, or a 200 whose page is malformed); counted."""

    def __init__(self, count: int, *, seed: int, rate: float = 0.0) -> None:
        super().__init__()
        rng = random.Random(seed)
        self.jobs = sorted((generate_job(n, rng) for n in range(count)), key=lambda job: job["updatedAt"], reverse=True)
        self.rate = rate
        self.injected: Counter = Counter()
        self._rng = random.Random(seed + 2)

    async def graphql(self, request: Request) -> Response:
        with self.lock:
            fault = self._rng.choice(("server_error", "throttle", "malformed_page")) if self._rng.random() < self.rate else None
            if fault:
                self.injected[f"source_{fault}"] += 1
        if fault == "server_error":
            return JSONResponse({"message": "Internal Server Error"}, status_code=500)
        if fault == "throttle":
            return JSONResponse({"message": "Too many requests"}, status_code=429, headers={"Retry-After": "0"})
        if fault == "malformed_page":
            return Response(b'{"data": {"jobs": {"nodes": [{"id": ', media_type="application/json")
        return await super().graphql(request)


def serve_in_thread(fake: FaultyJobber, port: int) -> uvicorn.Server:
    """Serve ``fake`` on 127.0.0.1:``port`` from a daemon thread; ``server.should_exit = True`` stops it."""
    app = Starlette(routes=[Route("/api/oauth/token", fake.token, methods=["POST"]),
                            Route("/api/graphql", fake.graphql, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="warning",
                                           lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    return server
