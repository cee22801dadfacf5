"""Xero's token endpoint in the sandbox: single-use refresh tokens that rotate, 30-minute access tokens.

    POST /connect/token   form: grant_type=refresh_token, refresh_token, client_id, client_secret
                          (or HTTP Basic client credentials) → 200 {access_token, expires_in, token_type,
                          refresh_token, scope}; a used, unknown or missing refresh token → 400 invalid_grant
    POST /_sandbox/xero/tokens   {"client_id": "...", "expires_in": 1800} → a first refresh token (admin)

A refresh token works once: the second use is ``invalid_grant``, which is what a worker that lost the
race (or did not save the rotated token) sees on the real Xero (ledgers.md §2.4). Access tokens the
endpoint issued are refused with Xero's 401 ``TokenExpired`` once their ``expires_in`` has passed.
"""

from __future__ import annotations

import base64
import secrets
import time
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.xero_store import XeroStore

SCOPE = "offline_access accounting.transactions accounting.contacts accounting.settings"


class XeroTokens:
    """Token state lives in the Xero store's SQLite file (tables xero_refresh_tokens, xero_access_tokens)."""

    def __init__(self, store: XeroStore) -> None:
        self.store = store

    def first_refresh_token(self, client_id: str, expires_in: int = 1800) -> str:
        token = f"xrt-{secrets.token_urlsafe(24)}"
        with self.store.transaction() as db:
            db.execute("INSERT INTO xero_refresh_tokens (token, client_id, expires_in) VALUES (?, ?, ?)",
                       (token, client_id, expires_in))
        return token

    def refresh(self, refresh_token: str, client_id: str) -> dict | None:
        """The next token pair, or None (invalid_grant) for a used, unknown or foreign refresh token."""
        with self.store.transaction() as db:
            row = db.execute("SELECT client_id, expires_in, used FROM xero_refresh_tokens WHERE token = ?",
                             (refresh_token,)).fetchone()
            if row is None or row[2] or row[0] != client_id:
                return None
            db.execute("UPDATE xero_refresh_tokens SET used = 1 WHERE token = ?", (refresh_token,))
            access, rotated = f"xat-{secrets.token_urlsafe(24)}", f"xrt-{secrets.token_urlsafe(24)}"
            db.execute("INSERT INTO xero_refresh_tokens (token, client_id, expires_in) VALUES (?, ?, ?)",
                       (rotated, client_id, row[1]))
            db.execute("INSERT INTO xero_access_tokens (token, expires_at) VALUES (?, ?)", (access, time.time() + row[1]))
        return {"access_token": access, "expires_in": row[1], "token_type": "Bearer", "refresh_token": rotated,
                "scope": SCOPE}

    def expired(self, access_token: str) -> bool:
        """True for an access token this endpoint issued whose lifetime is over (others are not judged)."""
        with self.store.transaction() as db:
            row = db.execute("SELECT expires_at FROM xero_access_tokens WHERE token = ?", (access_token,)).fetchone()
        return row is not None and row[0] <= time.time()


def token_routes(tokens: XeroTokens) -> list[Route]:
    async def token(request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        client_id = form.get("client_id", "")
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id = base64.b64decode(credentials).decode().partition(":")[0]
            except ValueError:
                return JSONResponse({"error": "invalid_client"}, status_code=400)
        if form.get("grant_type") != "refresh_token" or not form.get("refresh_token") or not client_id:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        pair = await run_in_threadpool(tokens.refresh, form["refresh_token"], client_id)
        return JSONResponse(pair) if pair else JSONResponse({"error": "invalid_grant"}, status_code=400)

    async def first(request: Request) -> Response:
        spec = await request.json()
        issued = await run_in_threadpool(tokens.first_refresh_token, str(spec["client_id"]),
                                         int(spec.get("expires_in", 1800)))
        return JSONResponse({"refresh_token": issued}, status_code=201)

    return [Route("/connect/token", token, methods=["POST"]),
            Route("/_sandbox/xero/tokens", first, methods=["POST"])]
