"""The OAuth2 token core both sandbox ledgers share: rotating single-use refresh tokens, expiring access tokens.

    POST {token path}   form: grant_type=refresh_token, refresh_token, and the client as HTTP Basic
                        credentials (or client_id/client_secret in the form where the ledger allows it)
                        → 200 {access_token, expires_in, token_type, refresh_token, ...}; a used, unknown,
                        expired or foreign refresh token → 400 {"error": "invalid_grant"}
    POST /_sandbox/{system}/tokens         {"client_id", "client_secret"?, "expires_in"?, "refresh_expires_in"?}
                                           → 201 {"refresh_token"}: the first token of a chain (admin)
    POST /_sandbox/{system}/token-expiry   {"client_id"} or {"access_token"} → expire those access tokens now
    GET  /_sandbox/{system}/token-stats?client_id=...  → {"refreshes": n, "refused": m} (granted, refused)

``expires_in`` is the access-token lifetime of the chain, ``refresh_expires_in`` the refresh token's;
both carry over to every rotated pair. A client secret given when minting is checked on every refresh.
State lives in the ledger store's SQLite file (tables oauth_*), so several sandbox processes agree.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import sqlite3
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.state_db import BUSY_TIMEOUT, StateDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_refresh_tokens (token TEXT PRIMARY KEY, client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL DEFAULT '', access_lifetime INTEGER NOT NULL, refresh_lifetime INTEGER NOT NULL,
    expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS oauth_access_tokens (token TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS oauth_clients (client_id TEXT PRIMARY KEY, refreshes INTEGER NOT NULL DEFAULT 0,
    refused INTEGER NOT NULL DEFAULT 0);
"""


@dataclass(frozen=True)
class TokenPolicy:
    """How one ledger's authorization server behaves."""

    system: str  # "qbo" or "xero": the admin path and the token prefixes
    access_lifetime: int  # seconds
    refresh_lifetime: int  # seconds
    scope: str = ""
    reports_refresh_expiry: bool = False  # Intuit's x_refresh_token_expires_in
    basic_only: bool = False  # Intuit takes the client only as HTTP Basic credentials


class TokenIssuer:
    """Issues and checks tokens for one ledger, in that ledger's store (any StateDb)."""

    def __init__(self, store: StateDb, policy: TokenPolicy) -> None:
        self.store, self.policy = store, policy
        with sqlite3.connect(store.path, timeout=BUSY_TIMEOUT) as db:
            db.executescript(_SCHEMA)
        db.close()

    def _new(self, kind: str) -> str:
        return f"{self.policy.system[0]}{kind}-{secrets.token_urlsafe(24)}"

    @property
    def access_prefix(self) -> str:
        return f"{self.policy.system[0]}at-"

    def first_refresh_token(self, client_id: str, *, client_secret: str = "", expires_in: int | None = None,
                            refresh_expires_in: int | None = None) -> str:
        token = self._new("rt")
        refresh_lifetime = self.policy.refresh_lifetime if refresh_expires_in is None else refresh_expires_in
        with self.store.transaction() as db:
            db.execute("INSERT INTO oauth_refresh_tokens (token, client_id, client_secret, access_lifetime, "
                       "refresh_lifetime, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (token, client_id, client_secret,
                        self.policy.access_lifetime if expires_in is None else expires_in, refresh_lifetime,
                        time.time() + refresh_lifetime))
        return token

    def refresh(self, refresh_token: str, client_id: str, client_secret: str | None) -> dict | None:
        """The next token pair, or None (invalid_grant) for a used, unknown, expired or foreign refresh token.

        ``client_secret`` None means the caller sent none; it is checked only when the chain has one.
        """
        with self.store.transaction() as db:
            row = db.execute("SELECT client_id, client_secret, access_lifetime, refresh_lifetime, expires_at, used "
                             "FROM oauth_refresh_tokens WHERE token = ?", (refresh_token,)).fetchone()
            db.execute("INSERT OR IGNORE INTO oauth_clients (client_id) VALUES (?)", (client_id,))
            if (row is None or row[5] or row[0] != client_id or row[4] <= time.time()
                    or (row[1] and client_secret != row[1])):
                db.execute("UPDATE oauth_clients SET refused = refused + 1 WHERE client_id = ?", (client_id,))
                return None
            secret, access_lifetime, refresh_lifetime = row[1], row[2], row[3]
            access, rotated = self._new("at"), self._new("rt")
            db.execute("UPDATE oauth_refresh_tokens SET used = 1 WHERE token = ?", (refresh_token,))
            db.execute("INSERT INTO oauth_refresh_tokens (token, client_id, client_secret, access_lifetime, "
                       "refresh_lifetime, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (rotated, client_id, secret, access_lifetime, refresh_lifetime,
                        time.time() + refresh_lifetime))
            db.execute("INSERT INTO oauth_access_tokens (token, client_id, expires_at) VALUES (?, ?, ?)",
                       (access, client_id, time.time() + access_lifetime))
            db.execute("UPDATE oauth_clients SET refreshes = refreshes + 1 WHERE client_id = ?", (client_id,))
        pair = {"access_token": access, "expires_in": access_lifetime, "token_type": "Bearer",
                "refresh_token": rotated}
        if self.policy.scope:
            pair["scope"] = self.policy.scope
        if self.policy.reports_refresh_expiry:
            pair["x_refresh_token_expires_in"] = refresh_lifetime
        return pair

    def expired(self, access_token: str) -> bool:
        """True for an access token this issuer gave whose lifetime is over (others are not judged)."""
        with self.store.transaction() as db:
            row = db.execute("SELECT expires_at FROM oauth_access_tokens WHERE token = ?", (access_token,)).fetchone()
        return row is not None and row[0] <= time.time()

    def expire(self, *, client_id: str = "", access_token: str = "") -> int:
        """Expire now the access tokens of ``client_id``, or the one ``access_token``; how many were live."""
        with self.store.transaction() as db:
            return db.execute("UPDATE oauth_access_tokens SET expires_at = 0 WHERE expires_at > ? AND "
                              "(client_id = ? OR token = ?)", (time.time(), client_id, access_token)).rowcount

    def stats(self, client_id: str) -> dict[str, int]:
        with self.store.transaction() as db:
            row = db.execute("SELECT refreshes, refused FROM oauth_clients WHERE client_id = ?", (client_id,)).fetchone()
        return {"refreshes": row[0] if row else 0, "refused": row[1] if row else 0}


def _client(request: Request, form: dict[str, str], *, basic_only: bool) -> tuple[str, str | None] | None:
    """The (client_id, client_secret) the request authenticates as, or None when the credentials are malformed."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (ValueError, binascii.Error):
            return None
        return client_id, secret
    if basic_only:
        return None
    return form.get("client_id", ""), form.get("client_secret")


def issuer_routes(issuer: TokenIssuer, token_path: str) -> list[Route]:
    """The token endpoint at ``token_path`` and the issuer's admin routes under ``/_sandbox/{system}/``."""
    admin = f"/_sandbox/{issuer.policy.system}"

    async def token(request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        client = _client(request, form, basic_only=issuer.policy.basic_only)
        if client is None or not client[0]:
            return JSONResponse({"error": "invalid_client"}, status_code=401 if issuer.policy.basic_only else 400)
        if form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        pair = await run_in_threadpool(issuer.refresh, form["refresh_token"], *client)
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        return (JSONResponse(pair, headers=headers) if pair
                else JSONResponse({"error": "invalid_grant"}, status_code=400, headers=headers))

    async def first(request: Request) -> Response:
        spec = await request.json()
        issued = await run_in_threadpool(
            lambda: issuer.first_refresh_token(
                str(spec["client_id"]), client_secret=str(spec.get("client_secret", "")),
                expires_in=int(spec["expires_in"]) if "expires_in" in spec else None,
                refresh_expires_in=int(spec["refresh_expires_in"]) if "refresh_expires_in" in spec else None))
        return JSONResponse({"refresh_token": issued}, status_code=201)

    async def expire(request: Request) -> Response:
        spec = await request.json()
        count = await run_in_threadpool(lambda: issuer.expire(client_id=str(spec.get("client_id", "")),
                                                             access_token=str(spec.get("access_token", ""))))
        return JSONResponse({"expired": count})

    async def stats(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(issuer.stats, request.query_params.get("client_id", "")))

    return [Route(token_path, token, methods=["POST"]),
            Route(f"{admin}/tokens", first, methods=["POST"]),
            Route(f"{admin}/token-expiry", expire, methods=["POST"]),
            Route(f"{admin}/token-stats", stats, methods=["GET"])]
