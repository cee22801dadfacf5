"""Intuit's OAuth2 endpoints in the sandbox: a discovery document and the token endpoint (refresh grant).

    GET  /.well-known/openid_configuration   Intuit-shaped discovery document; its token_endpoint is this
                                             sandbox's, so intuitlib's AuthClient(environment=<that URL>) works
    POST /oauth2/v1/tokens/bearer            HTTP Basic client credentials, form grant_type=refresh_token,
                                             refresh_token → {access_token, refresh_token, expires_in: 3600,
                                             x_refresh_token_expires_in, token_type}; else 400 invalid_grant
    POST /_sandbox/qbo/tokens, /_sandbox/qbo/token-expiry, GET /_sandbox/qbo/token-stats   (sandbox.token_issuer)

Intuit says the refresh token "may change" on a refresh; the sandbox always rotates it and refuses the old
one, the strictest reading, so a client that does not save the new one fails here first (ledgers.md §1.6).
An expired access token gets Intuit's 401 AuthenticationFailed body from the QBO API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.qbo_store import QboStore
from sandbox.token_issuer import TokenIssuer, TokenPolicy, issuer_routes

DISCOVERY_PATH = "/.well-known/openid_configuration"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
SCOPE = "com.intuit.quickbooks.accounting"
QBO_POLICY = TokenPolicy(system="qbo", access_lifetime=3600, refresh_lifetime=100 * 86400,
                         reports_refresh_expiry=True, basic_only=True)


class QboTokens(TokenIssuer):
    """Intuit's authorization server; token state lives in the QBO store's SQLite file."""

    def __init__(self, store: QboStore) -> None:
        super().__init__(store, QBO_POLICY)


def discovery_document(base_url: str) -> dict[str, object]:
    """The fields intuitlib reads (and Intuit publishes), pointing at ``base_url``."""
    return {
        "issuer": base_url, "authorization_endpoint": f"{base_url}/connect/oauth2",
        "token_endpoint": f"{base_url}{TOKEN_PATH}", "userinfo_endpoint": f"{base_url}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{base_url}/oauth2/v1/tokens/revoke", "jwks_uri": f"{base_url}/oauth2/v1/keys",
        "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "email", "profile",
                                                                                  "address", "phone", SCOPE],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


def qbo_oauth_routes(tokens: QboTokens) -> list[Route]:
    async def discovery(request: Request) -> Response:
        return JSONResponse(discovery_document(str(request.base_url).rstrip("/")))

    return [Route(DISCOVERY_PATH, discovery, methods=["GET"]), *issuer_routes(tokens, TOKEN_PATH)]
