"""Microsoft 365's and Google's OAuth2 for IMAP in the sandbox: consent as a mailbox user, tokens, and introspection.

    Microsoft identity platform (login.microsoftonline.com, the v2.0 endpoints)
    GET|POST /{tenant}/oauth2/v2.0/authorize   the consent page (sandbox.consent, choice "account": the user who
                          signs in, filled in from ``login_hint``); the scope must hold
                          https://outlook.office.com/IMAP.AccessAsUser.All, else error=invalid_scope; the code
                          grant gives a refresh token only when the scope held offline_access
    POST /{tenant}/oauth2/v2.0/token   grant_type=authorization_code | refresh_token (sandbox.token_issuer); the
                          client as HTTP Basic credentials or client_id/client_secret in the form
    Google (accounts.google.com, oauth2.googleapis.com)
    GET|POST /o/oauth2/v2/auth   the consent page; the scope must hold https://mail.google.com/
    POST /token                  as Microsoft's token endpoint
    Both (the sandbox's own, under /_sandbox/{ms365|google}/)
    POST introspect   RFC 7662 §2: form ``token`` → 200 {"active": true, "username", "email", "scope",
                      "client_id", "exp", "token_type": "Bearer"} for a live access token issued here; an unknown,
                      expired or revoked one → 200 {"active": false} (§2.2). This is what a test Dovecot's
                      ``oauth2`` passdb asks (introspection_mode = post): Exchange Online and Gmail check their
                      own tokens inside the IMAP server, which the sandbox cannot be.
    POST accounts     {"client_id", "username", "client_secret"?, "expires_in"?} → 201 {"refresh_token"}: the
                      first token of a chain for that mailbox user (what a person's consent gives; admin)
    POST revoke       {"username"} or {"token"} → {"revoked": n}: every chain of that user (or the token's chain)
                      ends; its refresh is invalid_grant and its access tokens introspect inactive. Microsoft has
                      no endpoint that revokes one refresh token (an admin revokes the user's sessions, Graph
                      ``revokeSignInSessions``); Google's user removes the app at myaccount.google.com.
    tokens, token-expiry, token-stats   as sandbox.token_issuer describes

[?] Google does not rotate refresh tokens (its refresh answer holds none, and the old one keeps working) and
gives one only when the authorize request says ``access_type=offline``; the sandbox's token core always rotates
(the strictest reading, as for Intuit) and always gives one. Closeout keeps the old refresh token when an answer
holds none (connectors.oauth) and sends ``access_type=offline&prompt=consent`` to Google, so both readings work.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.consent import ConsentBook, Grant, Provider, consent_routes
from sandbox.state_db import StateDb
from sandbox.token_issuer import NO_STORE, TokenIssuer, TokenPolicy, issuer_routes

MICROSOFT_IMAP_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"
GOOGLE_MAIL_SCOPE = "https://mail.google.com/"
MS365_POLICY = TokenPolicy(system="ms365", access_lifetime=3600, refresh_lifetime=90 * 86400,
                           scope=f"{MICROSOFT_IMAP_SCOPE} offline_access", refresh_scope="offline_access")
GOOGLE_POLICY = TokenPolicy(system="google", access_lifetime=3599, refresh_lifetime=180 * 86400,
                            scope=GOOGLE_MAIL_SCOPE)
DEMO_ACCOUNT = "field@acme.example"
MAX_TOKEN_BYTES = 4096

_SCHEMA = """
CREATE TABLE IF NOT EXISTS faults (seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, kind TEXT NOT NULL,
    remaining INTEGER NOT NULL, seconds REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS mail_accounts (chain TEXT PRIMARY KEY, username TEXT NOT NULL, scope TEXT NOT NULL);
"""


class MailOAuthStore(StateDb):
    """One mail provider's token state in ``state_dir/mail-<system>.sqlite3`` (shared between processes)."""

    FAULTS_TABLE, COMPANY_COLUMN = "faults", "account"

    def __init__(self, state_dir: Path, system: str) -> None:
        self.SYSTEM = system
        super().__init__(state_dir / f"mail-{system}.sqlite3", _SCHEMA)


class MailTokens(TokenIssuer):
    """A mail provider's authorization server: every token chain belongs to one mailbox user."""

    def __init__(self, store: MailOAuthStore, policy: TokenPolicy) -> None:
        super().__init__(store, policy)

    def first_for(self, client_id: str, username: str, *, client_secret: str = "",
                  expires_in: int | None = None) -> str:
        token = self.first_refresh_token(client_id, client_secret=client_secret, expires_in=expires_in)
        with self.store.transaction() as db:  # a first token is its own chain (sandbox.token_issuer)
            db.execute("INSERT OR REPLACE INTO mail_accounts (chain, username, scope) VALUES (?, ?, ?)",
                       (token, username.lower(), self.policy.scope))
        return token

    def bind(self, grant: Grant, pair: dict) -> None:
        """Record whose mailbox an approved consent's chain opens (the account the person signed in as)."""
        with self.store.transaction() as db:
            row = db.execute("SELECT chain FROM oauth_access_tokens WHERE token = ?",
                             (pair["access_token"],)).fetchone()
            db.execute("INSERT OR REPLACE INTO mail_accounts (chain, username, scope) VALUES (?, ?, ?)",
                       (row[0], grant.companies[0] if grant.companies else "", grant.scope))

    def introspect(self, token: str) -> dict:
        """RFC 7662's answer for ``token``: active with its user while it lives, else only ``active: false``."""
        with self.store.transaction() as db:
            row = db.execute("SELECT a.client_id, a.expires_at, m.username, m.scope FROM oauth_access_tokens a "
                             "LEFT JOIN mail_accounts m ON m.chain = COALESCE(a.chain, a.token) WHERE a.token = ?",
                             (token,)).fetchone()
        if row is None or row[1] <= time.time() or not row[2]:
            return {"active": False}
        return {"active": True, "username": row[2], "email": row[2], "scope": row[3] or self.policy.scope,
                "client_id": row[0], "exp": int(row[1]), "token_type": "Bearer"}

    def revoke_user(self, *, username: str = "", token: str = "") -> int:
        """End every chain of ``username``, or the chain of ``token``; how many chains ended."""
        with self.store.transaction() as db:
            if username:
                chains = [r[0] for r in db.execute("SELECT chain FROM mail_accounts WHERE username = ?",
                                                   (username.lower(),))]
            else:
                found = db.execute("SELECT COALESCE(chain, token) FROM oauth_access_tokens WHERE token = ? UNION "
                                   "SELECT COALESCE(chain, token) FROM oauth_refresh_tokens WHERE token = ?",
                                   (token, token)).fetchall()
                chains = [r[0] for r in found]
            for chain in chains:
                db.execute("UPDATE oauth_refresh_tokens SET used = 1 WHERE chain = ? OR token = ?", (chain, chain))
                db.execute("UPDATE oauth_access_tokens SET expires_at = 0 WHERE chain = ? OR token = ?",
                           (chain, chain))
        return len(chains)


def _provider_routes(tokens: MailTokens, *, name: str, authorize_path: str, token_path: str,
                     required_scope: str) -> list[Route]:
    admin = f"/_sandbox/{tokens.policy.system}"
    consents = ConsentBook(tokens.store)
    provider = Provider(name=name, path=authorize_path, choice="account", default=DEMO_ACCOUNT,
                        required_scope=required_scope)

    async def introspect(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_TOKEN_BYTES:
            return JSONResponse({"error": "invalid_request"}, status_code=413)
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        if not form.get("token"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        return JSONResponse(await run_in_threadpool(tokens.introspect, form["token"]), headers=NO_STORE)

    async def accounts(request: Request) -> Response:
        spec = await request.json()
        issued = await run_in_threadpool(lambda: tokens.first_for(
            str(spec["client_id"]), str(spec["username"]), client_secret=str(spec.get("client_secret", "")),
            expires_in=int(spec["expires_in"]) if "expires_in" in spec else None))
        return JSONResponse({"refresh_token": issued}, status_code=201)

    async def revoke(request: Request) -> Response:
        spec = await request.json()
        count = await run_in_threadpool(lambda: tokens.revoke_user(username=str(spec.get("username", "")),
                                                                   token=str(spec.get("token", ""))))
        return JSONResponse({"revoked": count})

    return [*consent_routes(consents, provider), *issuer_routes(tokens, token_path, consents=consents,
                                                                on_grant=tokens.bind),
            Route(f"{admin}/introspect", introspect, methods=["POST"]),
            Route(f"{admin}/accounts", accounts, methods=["POST"]),
            Route(f"{admin}/revoke", revoke, methods=["POST"])]


def mail_oauth_routes(state_dir: Path) -> list[Route]:
    """Both mail providers' routes (see the module docstring), their state under ``state_dir``."""
    microsoft = MailTokens(MailOAuthStore(state_dir, "ms365"), MS365_POLICY)
    google = MailTokens(MailOAuthStore(state_dir, "google"), GOOGLE_POLICY)
    return [*_provider_routes(microsoft, name="Microsoft", authorize_path="/{tenant}/oauth2/v2.0/authorize",
                              token_path="/{tenant}/oauth2/v2.0/token", required_scope=MICROSOFT_IMAP_SCOPE),
            *_provider_routes(google, name="Google", authorize_path="/o/oauth2/v2/auth", token_path="/token",
                              required_scope=GOOGLE_MAIL_SCOPE)]
