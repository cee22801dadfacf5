"""Xero's token endpoint in the sandbox: single-use refresh tokens that rotate, 30-minute access tokens.

    POST /connect/token   form: grant_type=refresh_token, refresh_token, client_id, client_secret
                          (or HTTP Basic client credentials) → 200 {access_token, expires_in, token_type,
                          refresh_token, scope}; a used, unknown or missing refresh token → 400 invalid_grant
    POST /_sandbox/xero/tokens   {"client_id": "...", "expires_in": 1800} → a first refresh token (admin);
                          token-expiry and token-stats as described in sandbox.token_issuer

A refresh token works once: the second use is ``invalid_grant``, which is what a worker that lost the
race (or did not save the rotated token) sees on the real Xero (ledgers.md §2.4). Access tokens the
endpoint issued are refused with Xero's 401 ``TokenExpired`` once their ``expires_in`` has passed.
Unused refresh tokens expire after 60 days; Xero does not say when in its answer. ``app_of`` names the
OAuth client (the app) an issued access token belongs to: Idempotency-Keys are scoped by it (sandbox.xero_app).
"""

from __future__ import annotations

from starlette.routing import Route

from sandbox.token_issuer import TokenIssuer, TokenPolicy, issuer_routes
from sandbox.xero_store import XeroStore

SCOPE = "offline_access accounting.transactions accounting.contacts accounting.settings"
XERO_POLICY = TokenPolicy(system="xero", access_lifetime=1800, refresh_lifetime=60 * 86400, scope=SCOPE)


class XeroTokens(TokenIssuer):
    """Xero's authorization server; token state lives in the Xero store's SQLite file."""

    def __init__(self, store: XeroStore) -> None:
        super().__init__(store, XERO_POLICY)

    def app_of(self, access_token: str) -> str | None:
        """The client_id the token endpoint issued ``access_token`` to, or None for a token it did not issue.

        A real Xero access token is a JWT naming its ``client_id``; the sandbox keeps that link in its
        oauth_access_tokens table instead.
        """
        with self.store.transaction() as db:
            row = db.execute("SELECT client_id FROM oauth_access_tokens WHERE token = ?", (access_token,)).fetchone()
        return row[0] if row else None


def token_routes(tokens: XeroTokens) -> list[Route]:
    return issuer_routes(tokens, "/connect/token")
