"""The authorize endpoint the sandbox's providers share: a consent page, single-use codes, PKCE, exact redirect URIs.

    GET  {path}?response_type=code&client_id&redirect_uri&scope&state[&code_challenge&code_challenge_method=S256]
         → 200 an HTML consent page: the company (QuickBooks realm, Xero organisations) and Approve / Deny.
           No client_id, or a redirect_uri that is not an absolute http(s) URL → 400 page and no redirect
           (RFC 6749 §4.1.2.1: the redirect target cannot be trusted); response_type other than ``code`` →
           redirect with error=unsupported_response_type; a code_challenge_method other than S256 →
           error=invalid_request (Xero documents S256 only); a scope the provider requires missing →
           error=invalid_scope. Every error redirect carries ``state`` back (RFC 6749 §4.1.2.1).
    POST {path}  form: request (the page's id), decision=approve|deny, realm_id | tenant (repeatable) | account
         (a mail provider's: the user who signs in, the page's default from login_hint)
         → 302 redirect_uri?code=…&state=…[&realmId=…] (Intuit names the company in the redirect: its
           OAuth 2.0 guide, step "realmId", quoted in intuit/oauth-pythonclient#28), or
           redirect_uri?error=access_denied&state=… (RFC 6749 §4.1.2.1). A request is answered once.

Codes live ``CODE_LIFETIME`` (10 minutes, RFC 6749 §4.1.2's recommended maximum) and work once: a second
use, another client, another redirect_uri than the authorize request's, or a wrong PKCE verifier is
``invalid_grant`` at the token endpoint (RFC 6749 §4.1.3, §5.2; RFC 7636 §4.6). [?] the real lifetimes of
Intuit's, Xero's and Jobber's codes are not in ../shared/reference; Closeout exchanges the code within a
second of the redirect, so any lifetime of a minute or more is safe. [?] RFC 6749 §4.1.2 says a server SHOULD
also revoke the tokens a replayed code gave; whether Intuit, Xero or Jobber do is undocumented. The sandbox
does not; Closeout never replays a code (its listener takes one callback), and a provider that did revoke would
only make the next refresh fail, which opens a case. The sandbox keeps no app registry, so any redirect URI is
accepted at authorize time; the real providers also check it against the app's registered ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

CODE_LIFETIME = 600
REQUEST_LIFETIME = 3600  # a consent page left open this long is no longer answered
COMPANY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
ACCOUNT = re.compile(r"^[A-Za-z0-9._%+-]{1,64}(@[A-Za-z0-9.-]{1,190})?$")  # a mailbox user (a mail provider's)

_TABLES = (
    "CREATE TABLE IF NOT EXISTS oauth_consents (id TEXT PRIMARY KEY, client_id TEXT NOT NULL, "
    "redirect_uri TEXT NOT NULL, scope TEXT NOT NULL, state TEXT, challenge TEXT NOT NULL, created REAL NOT NULL, "
    "answered INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS oauth_codes (code TEXT PRIMARY KEY, client_id TEXT NOT NULL, "
    "redirect_uri TEXT NOT NULL, scope TEXT NOT NULL, challenge TEXT NOT NULL, companies TEXT NOT NULL, "
    "expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0)",
)


class Transactional(Protocol):
    """A store with ``transaction()`` (sandbox.state_db.StateDb, or ``MemoryDb`` for the fake Jobber)."""

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


class MemoryDb:
    """One in-memory SQLite connection behind a lock: the state of a single-process fake (the fake Jobber)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


@dataclass(frozen=True)
class Grant:
    """What an approved code stands for: the client, the consent's scope and the companies chosen."""

    client_id: str
    redirect_uri: str
    scope: str
    companies: tuple[str, ...]


@dataclass(frozen=True)
class Provider:
    """How one provider's consent page looks and what its redirect carries."""

    name: str  # "Intuit", "Xero", "Jobber": the page's title
    path: str  # the authorize path, as the real one is under its host
    choice: str = ""  # "realm": one company, named back as realmId; "tenants": organisations; "account": the
    # user who signs in (a mail provider: the tokens are that mailbox's; login_hint fills it in); "": none
    known: Callable[[], list[tuple[str, str]]] = lambda: []  # (id, name) of the companies the page offers
    default: str = ""  # offered when no company is known yet (the demo's, so the demo connects in one click)
    required_scope: str = ""  # a scope every request must ask for


def pkce_matches(verifier: str | None, challenge: str) -> bool:
    """RFC 7636 §4.6 with S256: BASE64URL(SHA256(verifier)) without padding equals the challenge."""
    if not challenge:
        return True
    if not verifier or not 43 <= len(verifier) <= 128:  # §4.1: 43 to 128 characters
        return False
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace")).digest()).rstrip(b"=")
    return hmac.compare_digest(computed.decode(), challenge)


class ConsentBook:
    """Pending authorization requests and the codes approving them, in one store (oauth_consents, oauth_codes)."""

    def __init__(self, db: Transactional) -> None:
        self.db = db
        with db.transaction() as conn:
            for statement in _TABLES:
                conn.execute(statement)

    def ask(self, *, client_id: str, redirect_uri: str, scope: str, state: str | None, challenge: str) -> str:
        ident = secrets.token_urlsafe(18)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO oauth_consents (id, client_id, redirect_uri, scope, state, challenge, created) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", (ident, client_id, redirect_uri, scope, state, challenge,
                                                          time.time()))
        return ident

    def answer(self, ident: str, companies: tuple[str, ...] | None) -> tuple[str, str | None, str | None] | None:
        """Answer a pending request once: (redirect_uri, state, code); the code is None when denied (``companies``
        None). None when the request is unknown, answered already or too old."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT client_id, redirect_uri, scope, state, challenge, created, answered "
                               "FROM oauth_consents WHERE id = ?", (ident,)).fetchone()
            if row is None or row[6] or row[5] + REQUEST_LIFETIME <= time.time():
                return None
            conn.execute("UPDATE oauth_consents SET answered = 1 WHERE id = ?", (ident,))
            if companies is None:
                return row[1], row[3], None
            code = secrets.token_urlsafe(32)
            conn.execute("INSERT INTO oauth_codes (code, client_id, redirect_uri, scope, challenge, companies, "
                         "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (code, row[0], row[1], row[2], row[4], json.dumps(list(companies)),
                          time.time() + CODE_LIFETIME))
        return row[1], row[3], code

    def pending(self, ident: str) -> bool:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT created, answered FROM oauth_consents WHERE id = ?", (ident,)).fetchone()
        return row is not None and not row[1] and row[0] + REQUEST_LIFETIME > time.time()

    def redeem(self, code: str, *, client_id: str, redirect_uri: str, verifier: str | None) -> Grant | None:
        """The grant of ``code``, used up; None (invalid_grant) when it is unknown, used, expired, another
        client's, for another redirect_uri, or its PKCE verifier does not match. A refused try still uses the
        code up: a code is good for one exchange, right or wrong."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT client_id, redirect_uri, scope, challenge, companies, expires_at, used "
                               "FROM oauth_codes WHERE code = ?", (code,)).fetchone()
            if row is None or row[6]:
                return None
            conn.execute("UPDATE oauth_codes SET used = 1 WHERE code = ?", (code,))
        if (row[5] <= time.time() or row[0] != client_id or row[1] != redirect_uri
                or not pkce_matches(verifier, row[3])):
            return None
        return Grant(client_id=row[0], redirect_uri=row[1], scope=row[2], companies=tuple(json.loads(row[4])))


def _with_query(uri: str, params: dict[str, str | None]) -> str:
    """``uri`` with ``params`` (None ones left out) added to its query, its own parameters kept."""
    parts = urlsplit(uri)
    extra = urlencode({key: value for key, value in params.items() if value is not None})
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def _usable_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>", status_code=status,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def _choice_fields(provider: Provider, hint: str = "") -> str:
    known = provider.known()
    if provider.choice == "account":
        default = hint if ACCOUNT.match(hint) else (known[0][0] if known else provider.default)
        return (f"<p><label>Sign in as <input name='account' required value='{html.escape(default)}'>"
                "</label></p>")
    if provider.choice == "realm":
        default = known[0][0] if known else provider.default
        options = "".join(f"<option value='{html.escape(ident)}'>{html.escape(name)}</option>" for ident, name in known)
        return (f"<p><label>QuickBooks company (realm id) <input name='realm_id' list='realms' required "
                f"value='{html.escape(default)}'></label><datalist id='realms'>{options}</datalist></p>")
    if provider.choice == "tenants":
        boxes = "".join(f"<li><label><input type='checkbox' name='tenant' value='{html.escape(ident)}'"
                        f"{' checked' if n == 0 else ''}> {html.escape(name)} ({html.escape(ident)})</label></li>"
                        for n, (ident, name) in enumerate(known))
        other = "" if known else html.escape(provider.default)
        return (f"<p>Organisations to connect:</p><ul>{boxes}</ul><p><label>Another organisation (tenant id) "
                f"<input name='tenant' value='{other}'></label></p>")
    return ""


def _chosen(provider: Provider, form: dict[str, list[str]]) -> tuple[str, ...] | str:
    """The companies the form approves, or the reason it cannot (shown on the page)."""
    if provider.choice == "realm":
        chosen = tuple(value.strip() for value in form.get("realm_id", [])[:1] if value.strip())
    elif provider.choice == "tenants":
        chosen = tuple(dict.fromkeys(value.strip() for value in form.get("tenant", []) if value.strip()))
    elif provider.choice == "account":
        chosen = tuple(value.strip().lower() for value in form.get("account", [])[:1] if value.strip())
        if not chosen:
            return "sign in with the mailbox's account"
        return chosen if ACCOUNT.match(chosen[0]) else "an account is a mail address (or a user name)"
    else:
        return ()
    if not chosen:
        return "choose a company to connect"
    if not all(COMPANY_ID.match(ident) for ident in chosen):
        return "a company id is letters, digits, '-' and '_'"
    return chosen


def consent_routes(book: ConsentBook, provider: Provider) -> list[Route]:
    """GET and POST of ``provider.path``: the consent page and its answer (see the module docstring)."""

    async def authorize(request: Request) -> Response:
        if request.method == "POST":
            return await answer(request)
        query = request.query_params
        client_id, redirect_uri, state = query.get("client_id", ""), query.get("redirect_uri", ""), query.get("state")
        if not client_id or not _usable_redirect(redirect_uri):
            return _page(f"{provider.name}: this request cannot be answered",
                         "<p>The authorization request names no client_id or no absolute http(s) redirect_uri.</p>",
                         400)
        scope = query.get("scope", "")
        error = None
        if query.get("response_type") != "code":
            error = "unsupported_response_type"
        elif query.get("code_challenge") and query.get("code_challenge_method", "plain") != "S256":
            error = "invalid_request"
        elif provider.required_scope and provider.required_scope not in scope.split():
            error = "invalid_scope"
        if error:
            return RedirectResponse(_with_query(redirect_uri, {"error": error, "state": state}), status_code=302)
        ident = await run_in_threadpool(lambda: book.ask(client_id=client_id, redirect_uri=redirect_uri, scope=scope,
                                                         state=state, challenge=query.get("code_challenge", "")))
        return _consent_page(provider, ident, client_id, scope, hint=query.get("login_hint", ""))

    async def answer(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        ident = (form.get("request") or [""])[0]
        approve = (form.get("decision") or [""])[0] == "approve"
        chosen = _chosen(provider, form) if approve else None
        if isinstance(chosen, str):
            if not await run_in_threadpool(book.pending, ident):
                return _page(f"{provider.name}: this request was answered already", "", 400)
            return _page(f"{provider.name}: {chosen}", "<p>Go back, choose, and approve again.</p>", 400)
        answered = await run_in_threadpool(book.answer, ident, chosen)
        if answered is None:
            return _page(f"{provider.name}: this request was answered already or has expired", "", 400)
        redirect_uri, state, code = answered
        if code is None:
            return RedirectResponse(_with_query(redirect_uri, {"error": "access_denied", "state": state}),
                                    status_code=302)
        realm = chosen[0] if provider.choice == "realm" and chosen else None
        return RedirectResponse(_with_query(redirect_uri, {"code": code, "state": state, "realmId": realm}),
                                status_code=302)

    return [Route(provider.path, authorize, methods=["GET", "POST"])]


def _consent_page(provider: Provider, ident: str, client_id: str, scope: str, *, hint: str = "") -> HTMLResponse:
    scopes = "".join(f"<li><code>{html.escape(item)}</code></li>" for item in scope.split()) or "<li>(the app's)</li>"
    return _page(f"{provider.name}: allow access?",
                 f"<p>The app <code>{html.escape(client_id)}</code> asks for:</p><ul>{scopes}</ul>"
                 f"<form method='post'><input type='hidden' name='request' value='{html.escape(ident)}'>"
                 f"{_choice_fields(provider, hint)}"
                 "<button type='submit' name='decision' value='approve'>Approve</button> "
                 "<button type='submit' name='decision' value='deny' formnovalidate>Deny</button></form>")
