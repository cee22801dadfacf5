"""The OAuth2 token core the sandbox's providers share: codes for tokens, rotating single-use refresh tokens, revocation.

    POST {token path}   form: grant_type=refresh_token, refresh_token, and the client as HTTP Basic
                        credentials (or client_id/client_secret in the form where the ledger allows it)
                        → 200 {access_token, expires_in, token_type, refresh_token, ...}; a used, unknown,
                        expired, revoked or foreign refresh token → 400 {"error": "invalid_grant"}
                        grant_type=authorization_code, code, redirect_uri[, code_verifier] (sandbox.consent)
                        → the first pair of a new chain; a used, expired or foreign code, another redirect_uri
                        or a wrong verifier → 400 invalid_grant (RFC 6749 §5.2, RFC 7636 §4.6); another
                        grant_type → 400 unsupported_grant_type
    POST {revoke path}  the client as on the token endpoint, the token (refresh or access) as form ``token``
                        or JSON {"token"} → 200 with an empty body; the token's whole chain (every refresh and
                        access token since the code or the first token) is dead. A token the server does not
                        know, or another client's, is answered 200 and changes nothing (RFC 7009 §2.2: "invalid
                        tokens do not cause an error response"); a wrong client secret → 401 invalid_client.
    POST /_sandbox/{system}/tokens         {"client_id", "client_secret"?, "expires_in"?, "refresh_expires_in"?}
                                           → 201 {"refresh_token"}: the first token of a chain (admin)
    POST /_sandbox/{system}/token-expiry   {"client_id"} or {"access_token"} → expire those access tokens now
    GET  /_sandbox/{system}/token-stats?client_id=...  → {"refreshes": n, "refused": m} (granted, refused)

``expires_in`` is the access-token lifetime of the chain, ``refresh_expires_in`` the refresh token's;
both carry over to every rotated pair. A client secret given when minting (or the one a code was exchanged
with) is checked on every refresh. State lives in the ledger store's SQLite file (tables oauth_*), so several
sandbox processes agree.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import sqlite3
import time
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.consent import ConsentBook, Grant
from sandbox.state_db import BUSY_TIMEOUT, StateDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_refresh_tokens (token TEXT PRIMARY KEY, client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL DEFAULT '', access_lifetime INTEGER NOT NULL, refresh_lifetime INTEGER NOT NULL,
    expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS oauth_access_tokens (token TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS oauth_clients (client_id TEXT PRIMARY KEY, refreshes INTEGER NOT NULL DEFAULT 0,
    refused INTEGER NOT NULL DEFAULT 0);
"""
# Added after the first sandboxes kept state: the chain a token belongs to (NULL in an old row: its own token).
_CHAIN_COLUMNS = ("oauth_refresh_tokens", "oauth_access_tokens")


@dataclass(frozen=True)
class TokenPolicy:
    """How one ledger's authorization server behaves."""

    system: str  # "qbo" or "xero": the admin path and the token prefixes
    access_lifetime: int  # seconds
    refresh_lifetime: int  # seconds
    scope: str = ""
    reports_refresh_expiry: bool = False  # Intuit's x_refresh_token_expires_in
    basic_only: bool = False  # Intuit takes the client only as HTTP Basic credentials
    refresh_scope: str = ""  # a code grant without this scope gets no refresh token (Xero's offline_access)


class TokenIssuer:
    """Issues and checks tokens for one ledger, in that ledger's store (any StateDb)."""

    def __init__(self, store: StateDb, policy: TokenPolicy) -> None:
        self.store, self.policy = store, policy
        with sqlite3.connect(store.path, timeout=BUSY_TIMEOUT) as db:
            db.executescript(_SCHEMA)
        db.close()
        # Two sandbox processes can start on one fresh file: the look and the ALTER share one write lock, or
        # both see no column and the second ALTER fails ("duplicate column name").
        with store.transaction() as db:
            for table in _CHAIN_COLUMNS:
                if "chain" not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN chain TEXT")

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
                       "refresh_lifetime, expires_at, chain) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (token, client_id, client_secret,
                        self.policy.access_lifetime if expires_in is None else expires_in, refresh_lifetime,
                        time.time() + refresh_lifetime, token))
        return token

    def grant(self, client_id: str, client_secret: str, scope: str) -> dict:
        """The first pair of a new chain, for an authorization code the consent page gave ``client_id``."""
        chain = secrets.token_urlsafe(12)
        offline = not self.policy.refresh_scope or self.policy.refresh_scope in scope.split()
        lifetimes = (self.policy.access_lifetime, self.policy.refresh_lifetime)
        with self.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO oauth_clients (client_id) VALUES (?)", (client_id,))
            pair = self._issue(db, client_id, client_secret, *lifetimes, chain, refresh=offline)
        if scope:
            pair["scope"] = scope
        return pair

    def _issue(self, db: sqlite3.Connection, client_id: str, secret: str, access_lifetime: int,
               refresh_lifetime: int, chain: str, *, refresh: bool = True) -> dict:
        access = self._new("at")
        db.execute("INSERT INTO oauth_access_tokens (token, client_id, expires_at, chain) VALUES (?, ?, ?, ?)",
                   (access, client_id, time.time() + access_lifetime, chain))
        pair: dict = {"access_token": access, "expires_in": access_lifetime, "token_type": "Bearer"}
        if refresh:
            rotated = self._new("rt")
            db.execute("INSERT INTO oauth_refresh_tokens (token, client_id, client_secret, access_lifetime, "
                       "refresh_lifetime, expires_at, chain) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (rotated, client_id, secret, access_lifetime, refresh_lifetime,
                        time.time() + refresh_lifetime, chain))
            pair["refresh_token"] = rotated
            if self.policy.reports_refresh_expiry:
                pair["x_refresh_token_expires_in"] = refresh_lifetime
        return pair

    def revoke(self, token: str, client_id: str, client_secret: str | None) -> str:
        """End the chain of ``token`` (refresh or access) for its client: "revoked", "unknown" (not this
        client's, or not issued here: nothing changes) or "bad_client" (the chain's secret differs)."""
        with self.store.transaction() as db:
            row = db.execute("SELECT COALESCE(chain, token), client_secret FROM oauth_refresh_tokens "
                             "WHERE token = ? AND client_id = ?", (token, client_id)).fetchone()
            if row is None:
                access = db.execute("SELECT COALESCE(chain, token) FROM oauth_access_tokens WHERE token = ? "
                                    "AND client_id = ?", (token, client_id)).fetchone()
                if access is None:
                    return "unknown"
                secret = db.execute("SELECT client_secret FROM oauth_refresh_tokens WHERE chain = ? LIMIT 1",
                                    (access[0],)).fetchone()
                row = (access[0], secret[0] if secret else "")
            chain, secret = row
            if secret and client_secret != secret:
                return "bad_client"
            db.execute("UPDATE oauth_refresh_tokens SET used = 1 WHERE chain = ? OR token = ?", (chain, chain))
            db.execute("UPDATE oauth_access_tokens SET expires_at = 0 WHERE chain = ? OR token = ?", (chain, chain))
        return "revoked"

    def refresh(self, refresh_token: str, client_id: str, client_secret: str | None) -> dict | None:
        """The next token pair, or None (invalid_grant) for a used, unknown, expired or foreign refresh token.

        ``client_secret`` None means the caller sent none; it is checked only when the chain has one.
        """
        with self.store.transaction() as db:
            row = db.execute("SELECT client_id, client_secret, access_lifetime, refresh_lifetime, expires_at, used, "
                             "COALESCE(chain, token) FROM oauth_refresh_tokens WHERE token = ?",
                             (refresh_token,)).fetchone()
            db.execute("INSERT OR IGNORE INTO oauth_clients (client_id) VALUES (?)", (client_id,))
            if (row is None or row[5] or row[0] != client_id or row[4] <= time.time()
                    or (row[1] and client_secret != row[1])):
                db.execute("UPDATE oauth_clients SET refused = refused + 1 WHERE client_id = ?", (client_id,))
                return None
            db.execute("UPDATE oauth_refresh_tokens SET used = 1 WHERE token = ?", (refresh_token,))
            pair = self._issue(db, client_id, row[1], row[2], row[3], row[6])
            db.execute("UPDATE oauth_clients SET refreshes = refreshes + 1 WHERE client_id = ?", (client_id,))
        if self.policy.scope:
            pair["scope"] = self.policy.scope
        return pair

    def count_refused(self, client_id: str) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO oauth_clients (client_id) VALUES (?)", (client_id,))
            db.execute("UPDATE oauth_clients SET refused = refused + 1 WHERE client_id = ?", (client_id,))

    def chain_client(self, access_token: str) -> str | None:
        """The client a live access token was issued to (None: unknown, expired or revoked)."""
        with self.store.transaction() as db:
            row = db.execute("SELECT client_id FROM oauth_access_tokens WHERE token = ? AND expires_at > ?",
                             (access_token, time.time())).fetchone()
        return row[0] if row else None

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


def _form(body: bytes) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1: token answers are not cached


def issuer_routes(issuer: TokenIssuer, token_path: str, *, consents: ConsentBook | None = None,
                  on_grant: Callable[[Grant, dict], None] | None = None) -> list[Route]:
    """The token endpoint at ``token_path`` and the issuer's admin routes under ``/_sandbox/{system}/``.

    With ``consents`` it also trades that book's codes (``on_grant(grant, pair)`` then records what the
    consent chose, e.g. Xero's connections)."""
    admin = f"/_sandbox/{issuer.policy.system}"

    async def token(request: Request) -> Response:
        form = _form(await request.body())
        client = _client(request, form, basic_only=issuer.policy.basic_only)
        if client is None or not client[0]:
            return JSONResponse({"error": "invalid_client"}, status_code=401 if issuer.policy.basic_only else 400)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code" and consents is not None:
            return await _code_grant(form, client)
        if grant_type != "refresh_token" or not form.get("refresh_token"):
            error = "invalid_grant" if grant_type == "refresh_token" else "unsupported_grant_type"
            return JSONResponse({"error": error}, status_code=400, headers=NO_STORE)
        pair = await run_in_threadpool(issuer.refresh, form["refresh_token"], *client)
        return (JSONResponse(pair, headers=NO_STORE) if pair
                else JSONResponse({"error": "invalid_grant"}, status_code=400, headers=NO_STORE))

    async def _code_grant(form: dict[str, str], client: tuple[str, str | None]) -> Response:
        assert consents is not None
        found = await run_in_threadpool(lambda: consents.redeem(
            form.get("code", ""), client_id=client[0], redirect_uri=form.get("redirect_uri", ""),
            verifier=form.get("code_verifier")))
        if found is None:
            await run_in_threadpool(issuer.count_refused, client[0])
            return JSONResponse({"error": "invalid_grant"}, status_code=400, headers=NO_STORE)
        pair = await run_in_threadpool(issuer.grant, client[0], client[1] or "", found.scope)
        if on_grant is not None:
            await run_in_threadpool(on_grant, found, pair)
        return JSONResponse(pair, headers=NO_STORE)

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


def revocation_routes(issuer: TokenIssuer, path: str, *, on_revoke: Callable[[str], None] | None = None) -> list[Route]:
    """The revocation endpoint at ``path`` (see the module docstring); ``on_revoke(client_id)`` runs after a
    revocation that ended a chain (Xero then drops the app's connections)."""

    async def revoke(request: Request) -> Response:
        body = await request.body()
        try:
            given = json.loads(body) if request.headers.get("content-type", "").startswith("application/json") else None
        except ValueError:
            given = None
        form = {key: str(value) for key, value in given.items()} if isinstance(given, dict) else _form(body)
        client = _client(request, form, basic_only=issuer.policy.basic_only)
        if client is None or not client[0]:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if not form.get("token"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        outcome = await run_in_threadpool(issuer.revoke, form["token"], *client)
        if outcome == "bad_client":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if outcome == "revoked" and on_revoke is not None:
            await run_in_threadpool(on_revoke, client[0])
        return Response(status_code=200, headers=NO_STORE)

    return [Route(path, revoke, methods=["POST"])]
