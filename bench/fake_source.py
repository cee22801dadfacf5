"""A fast fake Jobber for the benchmarks: pages of generated jobs, computed on request, so any scale costs no memory.

Run as ``python -m bench.fake_source --jobs N --port P`` (a process of its own, so serving pages does not share
the measured process's core). It answers the token refresh and ``JobsChanged`` the way ``sandbox/fake_jobber.py``
does (relay cursors as base64 offsets, newest ``updatedAt`` first); any token is accepted.
"""

from __future__ import annotations

import argparse
import base64
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
T_END = datetime(2026, 10, 31, 18, 0, tzinfo=UTC)
CUSTOMERS = 1500
PARTS = [("IGN-HSI", 150.0), ("CAP-45-5", 48.5), ("FLT-16X25", 12.25), ("TSTAT-T6", 189.0), ("MOT-CF-14", 265.0),
         ("CONT-40A", 32.0), ("FLM-SENS", 27.5)]
TITLES = ["Furnace igniter replacement", "AC capacitor swap", "Quarterly filter change", "Thermostat install",
          "Condenser fan motor", "Contactor replacement", "Flame sensor cleaning"]
TECHS = ["Sam Ortiz", "Ana Ruiz", "Lee Park", "Mo Haddad", "Kim Osei"]


def _id(kind: str, n: int) -> str:
    return base64.b64encode(f"gid://Jobber/{kind}/{n}".encode()).decode()


def _conn(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}


def build_node(position: int, total: int) -> dict[str, Any]:
    """Job number ``position`` of ``total`` (0 is the newest): a completed month-end job, signed off."""
    n = total - position  # job 1 is the oldest
    done = T_END - timedelta(minutes=position * 43_200 // max(total, 1))  # the backlog spans 30 days
    start = done - timedelta(hours=3)
    customer = n % CUSTOMERS
    part, price = PARTS[n % len(PARTS)]
    tech = {"id": _id("User", n % len(TECHS) + 1), "name": {"full": TECHS[n % len(TECHS)]}}
    address = {"street1": f"{customer} Main St", "street2": None, "city": "Chicago", "province": "IL",
               "postalCode": "60601", "country": "US"}
    lines = [("LAB-STD", "SERVICE", 1.0 + (n % 4) * 0.5, 95.0), (part, "PRODUCT", 1.0 + n % 3, price)]
    return {
        "id": _id("Job", n), "jobNumber": 10_000 + n, "title": TITLES[n % len(TITLES)], "instructions": None,
        "jobStatus": "requires_invoicing", "jobType": "ONE_OFF", "billingType": "FIXED_PRICE",
        "startAt": start.isoformat(), "endAt": done.isoformat(), "completedAt": done.isoformat(),
        "createdAt": (start - timedelta(days=3)).isoformat(), "updatedAt": (done + timedelta(minutes=5)).isoformat(),
        "total": round(sum(q * p for _, _, q, p in lines), 2), "uninvoicedTotal": 0.0,
        "client": {"id": _id("Client", customer + 1), "name": f"Customer {customer:04d}",
                   "companyName": f"Customer {customer:04d} LLC", "isCompany": True,
                   "emails": [{"address": f"ap{customer}@example.invalid", "primary": True}], "phones": [],
                   "billingAddress": address},
        "property": {"id": _id("Property", customer + 1), "name": None, "taxRate": None, "address": address},
        "lineItems": _conn([{"id": _id("JobLineItem", n * 10 + i), "name": name, "description": "",
                             "category": category, "quantity": q, "unitPrice": p, "unitCost": None,
                             "totalPrice": round(q * p, 2), "taxable": True}
                            for i, (name, category, q, p) in enumerate(lines)]),
        "visits": _conn([{"id": _id("Visit", n), "title": "Visit", "visitStatus": "COMPLETED",
                          "startAt": start.isoformat(), "endAt": done.isoformat(), "completedAt": done.isoformat(),
                          "assignedUsers": {"nodes": [tech]}}]),
        "timeSheetEntries": _conn([{"id": _id("TimeSheetEntry", n), "startAt": start.isoformat(),
                                    "endAt": done.isoformat(), "finalDuration": 10_800, "labourRate": 45.0,
                                    "approved": True, "ticking": False, "user": tech,
                                    "visit": {"id": _id("Visit", n)}}]),
        "notes": _conn([{"id": _id("JobNote", n), "message": "Done as quoted; customer signed.",
                         "createdAt": done.isoformat()}]),
        "noteAttachments": _conn([{"id": _id("JobNoteFile", n), "fileName": "signature.png",
                                   "contentType": "image/png", "fileSize": 20480,
                                   "url": f"https://example.invalid/{n}/signature.png", "thumbnailUrl": None}]),
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    total = 0

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/oauth/token"):
            return self._send({"access_token": "bench-access", "refresh_token": "bench-refresh", "expires_in": 3600})
        request = json.loads(body)
        variables = request.get("variables") or {}
        if "JobsChanged" not in request.get("query", ""):
            return self._send({"errors": [{"message": "the bench fake answers JobsChanged only"}], "data": None})
        start = int(base64.b64decode(variables["after"])) if variables.get("after") else 0
        end = min(self.total, start + int(variables.get("first", 25)))
        info = {"hasNextPage": end < self.total, "endCursor": base64.b64encode(str(end).encode()).decode()}
        nodes = [build_node(p, self.total) for p in range(start, end)]
        self._send({"data": {"jobs": {"nodes": nodes, "pageInfo": info}}})

    def _send(self, document: dict[str, Any]) -> None:
        data = json.dumps(document, separators=(",", ":")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(jobs: int, port: int) -> None:
    handler = type("Handler", (_Handler,), {"total": jobs})
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        server.serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_fake_source(jobs: int) -> Iterator[str]:
    """The fake's base URL while a subprocess serves ``jobs`` jobs; stopped on exit."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.fake_source", "--jobs", str(jobs), "--port", str(port)],
                               cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the bench fake source did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    serve(options.jobs, options.port)
