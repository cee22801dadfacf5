"""The admin routes both ledger sandboxes share: ``/_sandbox/{system}/{company}/stats``, ``/faults`` and ``/chaos``."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.state_db import FAULT_KINDS


class AdminStore(Protocol):
    """What the admin routes need of a ledger store (a sandbox.state_db.StateDb with a ``stats``)."""

    def stats(self, company: str) -> dict[str, Any]: ...

    def add_fault(self, company: str, kind: str, *, count: int = 1, seconds: float = 0.0) -> None: ...

    def set_chaos(self, company: str, *, rate: float, kinds: tuple[str, ...] = FAULT_KINDS,
                  seconds: float = 0.0) -> None: ...


class _Admin:
    """The handlers over one store; ``company`` is the path parameter naming the realm or tenant."""

    def __init__(self, store: AdminStore, company: str) -> None:
        self.store, self.company = store, company

    async def stats(self, request: Request) -> Response:
        """200 with the store's ``stats`` of the company."""
        return JSONResponse(await run_in_threadpool(self.store.stats, request.path_params[self.company]))

    async def add_fault(self, request: Request) -> Response:
        """Queue ``{"kind", "count" (>= 1, default 1), "seconds" (>= 0, default 0)}``: 201, or 400 if malformed."""
        try:
            spec = json.loads(await request.body(), parse_float=Decimal)
            kind, count, seconds = spec["kind"], int(spec.get("count", 1)), float(spec.get("seconds", 0))
            if kind not in FAULT_KINDS or count < 1 or seconds < 0:
                raise ValueError(kind)
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": f"expected {{'kind': one of {FAULT_KINDS}, 'count': n >= 1, 'seconds': s}}"},
                                status_code=400)
        await run_in_threadpool(lambda: self.store.add_fault(request.path_params[self.company], kind, count=count,
                                                             seconds=seconds))
        return JSONResponse({self.company: request.path_params[self.company], "kind": kind, "count": count},
                            status_code=201)

    async def set_chaos(self, request: Request) -> Response:
        """Set ``{"rate", "kinds" (default all), "seconds" (default 0)}``: 201, or 400 if malformed or refused."""
        try:
            spec = json.loads(await request.body(), parse_float=Decimal)
            rate, seconds = float(spec["rate"]), float(spec.get("seconds", 0))
            kinds = tuple(spec.get("kinds") or FAULT_KINDS)
            await run_in_threadpool(lambda: self.store.set_chaos(request.path_params[self.company], rate=rate,
                                                                 kinds=kinds, seconds=seconds))
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": f"expected {{'rate': 0..1, 'kinds': some of {FAULT_KINDS}, 'seconds': s}}"},
                                status_code=400)
        return JSONResponse({"rate": rate, "kinds": list(kinds)}, status_code=201)


def admin_routes(store: AdminStore, system: str, company: str) -> list[Route]:
    """The stats, faults and chaos routes under ``/_sandbox/{system}/{{company}}`` (no auth).

    ``company`` names the path parameter (``realm`` for QBO, ``tenant`` for Xero); the faults answer
    echoes it as its key.
    """
    admin = _Admin(store, company)
    prefix = f"/_sandbox/{system}/{{{company}}}"
    return [
        Route(f"{prefix}/stats", admin.stats, methods=["GET"]),
        Route(f"{prefix}/faults", admin.add_fault, methods=["POST"]),
        Route(f"{prefix}/chaos", admin.set_chaos, methods=["POST"]),
    ]
