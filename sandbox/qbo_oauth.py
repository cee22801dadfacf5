"""Intuit's OAuth2 endpoints in the sandbox: discovery, the consent page, the token endpoint and revocation.

    GET  /.well-known/openid_configuration   Intuit-shaped discovery document; its endpoints are this
                                             sandbox's, so intuitlib's AuthClient(environment=<that URL>) works
    GET|POST /connect/oauth2                 the authorize endpoint (appcenter.intuit.com/connect/oauth2) and
                                             its consent page (sandbox.consent): the company is a realm id,
                                             named back as ``realmId`` in the redirect; the request's scope must
                                             hold com.intuit.quickbooks.accounting, else error=invalid_scope
    POST /oauth2/v1/tokens/bearer            HTTP Basic client credentials only; form grant_type=refresh_token,
                                             refresh_token → {access_token, refresh_token, expires_in: 3600,
                                             x_refresh_token_expires_in, token_type}; grant_type=
                                             authorization_code, code, redirect_uri → the first pair
                                             (intuitlib get_bearer_token sends exactly that); else 400 invalid_grant
    POST /v2/oauth2/tokens/revoke            the path of developer.api.intuit.com/v2/oauth2/tokens/revoke:
                                             HTTP Basic, JSON {"token": refresh or access token} (intuitlib
                                             AuthClient.revoke) → 200; a later refresh of that chain is invalid_grant
    POST /_sandbox/qbo/tokens, /_sandbox/qbo/token-expiry, GET /_sandbox/qbo/token-stats   (sandbox.token_issuer)

Intuit says the refresh token "may change" on a refresh; the sandbox always rotates it and refuses the old
one, the strictest reading, so a client that does not save the new one fails here first (ledgers.md §1.6).
An expired or revoked access token gets Intuit's 401 AuthenticationFailed body from the QBO API. PKCE: Intuit's
guides and intuitlib (its own client, in the venv) send no code_challenge; the consent page still verifies one
when a client sends it. [?] whether Intuit answers a revoke of an unknown token with 200 or 400: the sandbox
follows RFC 7009 (200); Closeout's ``closeout disconnect`` treats a 400 invalid_grant as "already dead" too.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.consent import ConsentBook, Provider, consent_routes
from sandbox.qbo_store import QboStore
from sandbox.token_issuer import TokenIssuer, TokenPolicy, issuer_routes, revocation_routes

DISCOVERY_PATH = "/.well-known/openid_configuration"
AUTHORIZE_PATH = "/connect/oauth2"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
SCOPE = "com.intuit.quickbooks.accounting"
DEMO_REALM = "9130355221"  # the bundled demo's company: the consent page offers it until a realm exists
QBO_POLICY = TokenPolicy(system="qbo", access_lifetime=3600, refresh_lifetime=100 * 86400,
                         reports_refresh_expiry=True, basic_only=True)


class QboTokens(TokenIssuer):
    """Intuit's authorization server; token state lives in the QBO store's SQLite file."""

    def __init__(self, store: QboStore) -> None:
        super().__init__(store, QBO_POLICY)


def discovery_document(base_url: str) -> dict[str, object]:
    """The fields intuitlib reads (and Intuit publishes), pointing at ``base_url``."""
    return {
        "issuer": base_url, "authorization_endpoint": f"{base_url}{AUTHORIZE_PATH}",
        "token_endpoint": f"{base_url}{TOKEN_PATH}", "userinfo_endpoint": f"{base_url}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{base_url}{REVOKE_PATH}", "jwks_uri": f"{base_url}/oauth2/v1/keys",
        "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "email", "profile",
                                                                                  "address", "phone", SCOPE],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


def _known_realms(store: QboStore) -> list[tuple[str, str]]:
    with store.transaction() as db:
        rows = db.execute("SELECT realm FROM realms ORDER BY created_at, realm").fetchall()
    return [(row[0], f"Sandbox Company {row[0]}") for row in rows]


def qbo_oauth_routes(tokens: QboTokens) -> list[Route]:
    async def discovery(request: Request) -> Response:
        return JSONResponse(discovery_document(str(request.base_url).rstrip("/")))

    store = tokens.store
    consents = ConsentBook(store)
    intuit = Provider(name="Intuit", path=AUTHORIZE_PATH, choice="realm", known=lambda: _known_realms(store),
                      default=DEMO_REALM, required_scope=SCOPE)
    return [Route(DISCOVERY_PATH, discovery, methods=["GET"]), *consent_routes(consents, intuit),
            *issuer_routes(tokens, TOKEN_PATH, consents=consents), *revocation_routes(tokens, REVOKE_PATH)]
