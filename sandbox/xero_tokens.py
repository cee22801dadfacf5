"""Xero's identity endpoints in the sandbox: consent, single-use rotating refresh tokens, /connections, revocation.

    GET|POST /identity/connect/authorize   login.xero.com's authorize path and its consent page (sandbox.consent):
                          organisations to connect (checkboxes of the known tenants, or a tenant id typed in);
                          PKCE S256 verified when a code_challenge was sent (Xero's PKCE flow guide,
                          developer.xero.com/documentation/oauth2/pkce-flow, documents S256 only)
    POST /connect/token   form: grant_type=refresh_token, refresh_token, client_id, client_secret
                          (or HTTP Basic client credentials) → 200 {access_token, expires_in, token_type,
                          refresh_token, scope}; a used, unknown, revoked or missing refresh token → 400
                          invalid_grant; grant_type=authorization_code, code, redirect_uri[, code_verifier] →
                          the first pair, with a refresh token only when the consent's scope held offline_access
                          (Xero's scopes guide, developer.xero.com/documentation/guides/oauth2/scopes: the scope
                          that gives a refresh token)
    GET  /connections     Bearer access token → the app's connections, Xero's shape (XeroAPI/Xero-OpenAPI
                          xero-identity.yaml: id, authEventId, tenantId, tenantType, tenantName,
                          createdDateUtc, updatedDateUtc); an unknown, expired or revoked token → 401
    POST /connect/revocation   form token=<refresh token>, the client as on the token endpoint → 200; the
                          token's chain is dead and the app's connections are gone ("Revoking a token will
                          result in all granted scopes, and all connected tenants being removed from the app",
                          calcinai/oauth2-xero README [S])
    POST /_sandbox/xero/tokens   {"client_id": "...", "expires_in": 1800} → a first refresh token (admin);
                          token-expiry and token-stats as described in sandbox.token_issuer

A refresh token works once: the second use is ``invalid_grant``, which is what a worker that lost the
race (or did not save the rotated token) sees on the real Xero (ledgers.md §2.4). Access tokens the
endpoint issued are refused with Xero's 401 ``TokenExpired`` once their ``expires_in`` has passed.
Unused refresh tokens expire after 60 days; Xero does not say when in its answer. ``app_of`` names the
OAuth client (the app) an issued access token belongs to: Idempotency-Keys are scoped by it (sandbox.xero_app).
Connections belong to the app here; on Xero they belong to the app and the user who consented (the sandbox
has no users). [?] the sandbox does not refuse an access token for a tenant it has no connection to; Closeout
checks the chosen tenant against /connections when it connects, so it is safe either way.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.consent import ConsentBook, Grant, Provider, consent_routes
from sandbox.token_issuer import TokenIssuer, TokenPolicy, issuer_routes, revocation_routes
from sandbox.xero_org import organisation_body
from sandbox.xero_store import XeroStore

SCOPE = "offline_access accounting.transactions accounting.contacts accounting.settings"
DEMO_TENANT = "6f1c2a8e-0b7d-4e55-9a31-harbour0demo"  # the bundled demo's organisation, offered until one exists
XERO_POLICY = TokenPolicy(system="xero", access_lifetime=1800, refresh_lifetime=60 * 86400, scope=SCOPE,
                          refresh_scope="offline_access")
_CONNECTIONS = ("CREATE TABLE IF NOT EXISTS oauth_connections (client_id TEXT NOT NULL, tenant TEXT NOT NULL, "
                "id TEXT NOT NULL, auth_event TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL, "
                "PRIMARY KEY (client_id, tenant))")


class XeroTokens(TokenIssuer):
    """Xero's authorization server; token state lives in the Xero store's SQLite file."""

    def __init__(self, store: XeroStore) -> None:
        super().__init__(store, XERO_POLICY)
        with store.transaction() as db:
            db.execute(_CONNECTIONS)

    def app_of(self, access_token: str) -> str | None:
        """The client_id the token endpoint issued ``access_token`` to, or None for a token it did not issue.

        A real Xero access token is a JWT naming its ``client_id``; the sandbox keeps that link in its
        oauth_access_tokens table instead.
        """
        with self.store.transaction() as db:
            row = db.execute("SELECT client_id FROM oauth_access_tokens WHERE token = ?", (access_token,)).fetchone()
        return row[0] if row else None

    def connect(self, grant: Grant, pair: dict) -> None:
        """Record the organisations a consent chose as the app's connections (kept ones are updated)."""
        event, stamp = str(uuid.uuid4()), _stamp()
        with self.store.transaction() as db:
            for tenant in grant.companies:
                ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-sandbox/connection/{grant.client_id}/{tenant}"))
                db.execute("INSERT INTO oauth_connections (client_id, tenant, id, auth_event, created, updated) "
                           "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (client_id, tenant) DO UPDATE SET "
                           "auth_event = excluded.auth_event, updated = excluded.updated",
                           (grant.client_id, tenant, ident, event, stamp, stamp))

    def disconnect_all(self, client_id: str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM oauth_connections WHERE client_id = ?", (client_id,))

    def connections(self, client_id: str) -> list[dict[str, str]]:
        with self.store.transaction() as db:
            rows = db.execute("SELECT tenant, id, auth_event, created, updated FROM oauth_connections "
                              "WHERE client_id = ? ORDER BY created, tenant", (client_id,)).fetchall()
        return [{"id": ident, "authEventId": event, "tenantId": tenant, "tenantType": "ORGANISATION",
                 "tenantName": self.organisation_name(tenant), "createdDateUtc": created, "updatedDateUtc": updated}
                for tenant, ident, event, created, updated in rows]

    def organisation_name(self, tenant: str) -> str:
        return str(organisation_body(tenant, self.store.settings(tenant))["Name"])

    def known_tenants(self) -> list[tuple[str, str]]:
        with self.store.transaction() as db:
            tenants = [row[0] for row in db.execute("SELECT tenant FROM xero_tenants ORDER BY tenant")]
        return [(tenant, self.organisation_name(tenant)) for tenant in tenants]


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0")  # Xero's example: 2019-12-07T18:46:19.5165400


def token_routes(tokens: XeroTokens) -> list[Route]:
    async def connections(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        client = await run_in_threadpool(tokens.chain_client, token.strip()) if scheme.lower() == "bearer" else None
        if client is None:
            return JSONResponse({"Type": None, "Title": "Unauthorized", "Status": 401,
                                 "Detail": "AuthenticationUnsuccessful"}, status_code=401)
        return JSONResponse(await run_in_threadpool(tokens.connections, client))

    consents = ConsentBook(tokens.store)
    xero = Provider(name="Xero", path="/identity/connect/authorize", choice="tenants", known=tokens.known_tenants,
                    default=DEMO_TENANT)
    return [*consent_routes(consents, xero),
            *issuer_routes(tokens, "/connect/token", consents=consents, on_grant=tokens.connect),
            *revocation_routes(tokens, "/connect/revocation", on_revoke=tokens.disconnect_all),
            Route("/connections", connections, methods=["GET"])]
