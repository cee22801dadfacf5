"""The Connections page's side of the product: every company's connections with their state, and the web OAuth flow.

``WorkspaceConnections`` implements ``exceptions_queue.connections.Connections`` on the app. A connection's state
comes from where the runs look: an open ``ledger_refresh_failed`` or ``connection_failed`` case is *refused*
(the provider said no, or the runs could not use it), unless a file vault's pair was saved after the case opened
(``closeout connect`` in a terminal reconnected it); else the vault's stored pair is *connected* (with the
refresh token's remaining days where the vault knows its expiry) or its absence *not connected*; a CSV drop, a
local mailbox, a password or an API key is *not needed*; an ``auth = "oauth2"`` mailbox is connected like a
ledger (``closeout connect mailbox``'s target). The flow is ``closeout connect``'s own
(``authorization_for`` and ``complete`` of ``closeout.credentials.connect``): only the callback differs, the web
app's route instead of the one-shot listener. A proven connection closes the cases that said it was refused.
Disconnect is ``closeout disconnect``'s own (``disconnect``, ``disconnect_mailbox``), recorded in the audit trail
as ``connection_disconnected`` under ``<company>/<ledger|source|mailbox>:<name>``.
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from closeout.credentials.connect import TARGETS, Authorization, authorization_for, complete, disconnect, resolve
from closeout.credentials.ledger_tokens import ledger_access, token_client
from closeout.credentials.mailbox_tokens import GOOGLE_AUTHORIZE_URL, MICROSOFT_LOGIN_URL
from closeout.credentials.vaults import FileTokenVault
from closeout.wiring import App
from connectors.errors import ConnectorError
from connectors.oauth import INTUIT_AUTHORIZE_URL, XERO_AUTHORIZE_URL
from exceptions_queue.cases import Case, CaseKind
from exceptions_queue.connections import ConnectingError, Link, LinkState
from exceptions_queue.service import CaseQueue
from services.config import CompanyConfig, ConfigError, JobberSourceConfig, MissingSecretError

MAILBOX = "mailbox"  # closeout.credentials.connect_mailbox's system: ``closeout connect mailbox``
DISCONNECTED = "connection_disconnected"
"""The audit action of a Disconnect from the Connections page."""
MAIL_SIGN_IN = {"microsoft": MICROSOFT_LOGIN_URL, "google": GOOGLE_AUTHORIZE_URL}
"""Where an OAuth2 mailbox's consent page is, unless its ``oauth_url`` says otherwise."""
FLOW_ERRORS = (ConnectorError, ConfigError, MissingSecretError, httpx.HTTPError)
"""What a connection attempt may fail with: each is one line for the page (none names a secret)."""
NOT_NEEDED = {"csv": "a CSV drop folder: nothing to connect", "housecallpro": "an API key (a secret): nothing to "
              "connect here", "servicetitan": "client credentials (secrets): nothing to connect here",
              "maildir": "local files: nothing to connect", "mbox": "a local file: nothing to connect"}


class WorkspaceConnections:
    """The connections of ``app``'s config (see the module docstring); ``public_url`` as the providers know the UI."""

    def __init__(self, app: App, *, public_url: str | None = None) -> None:
        self.app, self.public_url = app, (public_url or "").rstrip("/") or None

    def links(self) -> list[Link]:
        """Every company's ledger, sources and mailboxes, in config order."""
        found: list[Link] = []
        for company in self.app.config.companies:
            found.append(self._ledger_link(company))
            found += [self._source_link(company, source) for source in company.sources]
            found += [self._mailbox_link(company, mailbox) for mailbox in company.mailboxes]
        return found

    def authorize_origins(self) -> set[str]:
        """Where Connect may send the browser: the sandbox, Intuit's and Xero's authorize pages, each Jobber's."""
        found: set[str] = set()
        for company in self.app.config.companies:
            if company.ledger.uses_sandbox:
                found.add(_origin(self.app.sandbox_url or ""))
            elif company.ledger.kind == "quickbooks":  # [?] its sign-in may redirect within intuit.com: allowed
                found |= {_origin(INTUIT_AUTHORIZE_URL), "https://*.intuit.com"}
            else:
                found |= {_origin(XERO_AUTHORIZE_URL), "https://*.xero.com"}
            found |= {_origin(source.api_url) for source in company.sources if isinstance(source, JobberSourceConfig)}
            found |= {self._mail_origin(mailbox) for mailbox in company.mailboxes
                      if mailbox.kind == "imap" and getattr(mailbox, "auth", "password") == "oauth2"}
        return {origin for origin in found if origin}

    def _mail_origin(self, mailbox) -> str:
        if mailbox.oauth_url == "sandbox":
            return _origin(self.app.sandbox_url or "")
        if mailbox.oauth_url:
            return _origin(mailbox.oauth_url)
        return _origin(MAIL_SIGN_IN[mailbox.oauth_provider])

    def start(self, company: str, system: str, *, source: str | None, redirect_uri: str) -> Authorization:
        """A fresh authorization request for the connection (its URL is where the browser goes)."""
        try:
            return authorization_for(self._target(system, company, source), redirect_uri)
        except FLOW_ERRORS as exc:
            raise ConnectingError(_line(exc)) from None

    def finish(self, company: str, system: str, *, source: str | None, request: Authorization,
               answer: dict[str, str], actor: str) -> str:
        """Check the provider's answer, trade the code, store and prove the pair; close the refusal cases."""
        try:
            target = self._target(system, company, source)
            configured = target.company.ledger.tenant_id
            line = complete(target, request, answer, say=lambda _: None,
                            choose_tenant=lambda connected: configured if configured in dict(connected)
                            else connected[0][0])  # several organisations: the config's (checked by complete)
        except FLOW_ERRORS as exc:
            raise ConnectingError(_line(exc)) from None
        kind, name = _role(system, source)
        self._close_refusals(target.company, kind, name,
                             note=f"connected again from the Connections page by {actor}: {line}")
        return line

    def disconnect(self, company: str, system: str, *, source: str | None, actor: str) -> str:
        """``closeout disconnect``: revoke the tokens at the provider (a mailbox's are only forgotten), remove
        them from the vault, and record who did it; a provider out of reach keeps them (ConnectingError)."""
        try:
            target = self._target(system, company, source)
            with closing(target.app.client):
                if system == MAILBOX:
                    from closeout.credentials.connect_mailbox import disconnect_mailbox

                    line = disconnect_mailbox(target)
                else:
                    line = disconnect(target)
        except FLOW_ERRORS as exc:
            raise ConnectingError(_line(exc)) from None
        kind, name = _role(system, source)
        with self.app.store.unit_of_work() as uow:
            uow.audit.append(actor=actor, action=DISCONNECTED, subject=f"{target.company.id}/{kind}:{name}",
                             note=line[:900])
            uow.commit()
        return line

    # ---- states ------------------------------------------------------------------------------------------

    def _ledger_link(self, company: CompanyConfig) -> Link:
        kind = company.ledger.kind
        base = {"company": company.id, "company_name": company.name, "role": "ledger", "system": kind, "name": kind,
                "connectable": kind in TARGETS}
        refused = self._refusal(company, "ledger", kind)
        try:
            with closing(token_client(company)) as client:
                vault = ledger_access(company, home=self.app.home, store=self.app.store,
                                      sandbox_url=self.app.sandbox_url, client=client, connecting=True).vault
                pair = vault.stored()
        except FLOW_ERRORS as exc:
            return _refused_link(base, refused) if refused else Link(**base, state=LinkState.not_connected,
                                                                     detail=_line(exc))
        except Exception as exc:  # noqa: BLE001 - an unreadable vault (a Prefect API away) is this row's only
            return _refused_link(base, refused) if refused else Link(
                **base, state=LinkState.not_connected, detail=f"the vault could not be read ({type(exc).__name__})")
        if pair is None:
            first = ("the sandbox grants a first token at the first run" if company.ledger.uses_sandbox else
                     "a configured first refresh token, if there is one, is used at the first run")
            return _refused_link(base, refused) if refused else Link(
                **base, state=LinkState.not_connected, detail=f"no tokens stored in {vault.describe()} ({first})")
        return _stored_link(base, pair.refresh_expires_at, refused, vault)

    def _source_link(self, company: CompanyConfig, source) -> Link:
        base = {"company": company.id, "company_name": company.name, "role": "source", "system": source.kind,
                "name": source.name, "connectable": isinstance(source, JobberSourceConfig)}
        refused = self._refusal(company, "source", source.name)
        if not isinstance(source, JobberSourceConfig):  # a CSV drop, an API key, client credentials
            return _refused_link(base, refused) if refused else Link(
                **base, state=LinkState.not_needed, detail=NOT_NEEDED.get(source.kind, "nothing to connect"))
        try:
            connector = self.app.source_for(source, company)
            with closing(connector.client):
                vault = connector.tokens
                pair = vault.stored()
        except FLOW_ERRORS as exc:
            return _refused_link(base, refused) if refused else Link(**base, state=LinkState.not_connected,
                                                                     detail=_line(exc))
        if pair is None:
            return _refused_link(base, refused) if refused else Link(**base, state=LinkState.not_connected,
                                                                     detail="no tokens stored")
        return _stored_link(base, pair.refresh_expires_at, refused, vault)

    def _mailbox_link(self, company: CompanyConfig, mailbox) -> Link:
        base = {"company": company.id, "company_name": company.name, "role": "mailbox", "system": mailbox.kind,
                "name": mailbox.name}
        refused = self._refusal(company, "mailbox", mailbox.name)
        if mailbox.kind != "imap" or getattr(mailbox, "auth", "password") != "oauth2":
            detail = NOT_NEEDED.get(mailbox.kind, "signs in with a password: nothing to connect")
            return _refused_link(base, refused) if refused else Link(**base, state=LinkState.not_needed,
                                                                     detail=detail)
        base.update(system=MAILBOX, connectable=True)
        try:
            target = self._target(MAILBOX, company.id, mailbox.name)
            with closing(target.app.client):
                pair = target.vault.stored()
        except FLOW_ERRORS as exc:
            return _refused_link(base, refused) if refused else Link(**base, state=LinkState.not_connected,
                                                                     detail=_line(exc))
        if pair is None:
            return _refused_link(base, refused) if refused else Link(
                **base, state=LinkState.not_connected, detail=f"no tokens stored in {target.vault.describe()}")
        return _stored_link(base, pair.refresh_expires_at, refused, target.vault)

    def _target(self, system: str, company: str, source: str | None):
        """``closeout connect``'s own target: a ledger or Jobber (``resolve``), or an OAuth2 mailbox."""
        if system == MAILBOX:
            from closeout.credentials.connect_mailbox import resolve_mailbox  # as the CLI: only when asked for

            return resolve_mailbox(self.app, company, source)
        return resolve(self.app, system, company, source=source)

    def _refusal(self, company: CompanyConfig, kind: str, name: str) -> Case | None:
        """The open case saying this connection is refused: the ledger's refused refresh first, then an outage."""
        with self.app.store.unit_of_work() as uow:
            for code, subject in _refusal_subjects(company, kind, name):
                case = uow.cases.find_open(kind=code, subject=subject)
                if case is not None:
                    return case
        return None

    def _close_refusals(self, company: CompanyConfig, kind: str, name: str, *, note: str) -> None:
        subjects = [*_refusal_subjects(company, kind, name)]
        if kind == "ledger":  # a new connection is a new refresh token: the old one's end no longer matters
            subjects.append((CaseKind.ledger_token_expiring, f"{company.id}:{name}"))
        with self.app.store.unit_of_work() as uow:
            queue = CaseQueue(uow.cases)
            for code, subject in subjects:
                case = uow.cases.find_open(kind=code, subject=subject)
                if case is not None:
                    queue.close_if_cleared(case, note=note[:900])
            uow.commit()


def _role(system: str, source: str | None) -> tuple[str, str]:
    """The page's role of a connection (ledger, source, mailbox) and its name (a ledger's is its kind)."""
    kind = {"jobber": "source", MAILBOX: "mailbox"}.get(system, "ledger")
    return kind, (source or system) if kind != "ledger" else system


def _refusal_subjects(company: CompanyConfig, kind: str, name: str) -> list[tuple[CaseKind, str]]:
    """The subjects the token refresher (``<company>:<ledger>``) and the outage and health checks
    (``health:<company>/<kind>:<name>``, ``services.health.case_subject``) open their cases under."""
    if kind == "mailbox":  # the mail flow's outage and the health check share the mailbox's own subject
        return [(CaseKind.connection_failed, f"mailbox:{company.id}/{name}")]
    found = [(CaseKind.connection_failed, f"health:{company.id}/{kind}:{name}")]
    if kind == "ledger":
        found.insert(0, (CaseKind.ledger_refresh_failed, f"{company.id}:{name}"))
    return found


def _stored_link(base: dict, refresh_expires_at: datetime | None, refused: Case | None, vault: object) -> Link:
    """The state of a stored pair. An open refusal case still counts unless the pair was saved after it opened
    (a file vault knows when: ``closeout connect`` in a terminal reconnected it); then the case is only named."""
    if refused is not None and not _saved_since(vault, refused.opened_at):
        return _refused_link(base, refused)
    still = "; the refusal's case is older than these tokens: resolve it" if refused is not None else ""
    case = {"case_id": refused.id} if refused is not None else {}
    if refresh_expires_at is None:
        return Link(**base, **case, state=LinkState.connected,
                    detail="tokens stored; the provider did not say when the refresh token ends" + still)
    left = refresh_expires_at - datetime.now(UTC)
    if left.total_seconds() <= 0:
        return Link(**base, **case, state=LinkState.not_connected,
                    detail=f"the refresh token ended {refresh_expires_at:%Y-%m-%d %H:%M} UTC: connect again")
    days = round(left.total_seconds() / 86400)  # a fresh 60-day token reads 60, not 59
    return Link(**base, **case, state=LinkState.connected, expires_in_days=days,
                detail=f"expires in {days} day{'' if days == 1 else 's'} ({refresh_expires_at:%Y-%m-%d} UTC)" + still)


def _saved_since(vault: object, moment: datetime) -> bool:
    path = vault.path if isinstance(vault, FileTokenVault) else None
    try:
        return path is not None and datetime.fromtimestamp(path.stat().st_mtime, UTC) > moment
    except OSError:
        return False


def _refused_link(base: dict, case: Case) -> Link:
    return Link(**base, state=LinkState.refused, detail=_refused_detail(case), case_id=case.id)


def _refused_detail(case: Case) -> str:
    return f"case #{case.id} ({case.kind.value.replace('_', ' ')}): {case.summary}"[:300]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def _line(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPError):
        return f"the provider could not be reached ({type(exc).__name__})"
    return " ".join(str(exc).split())[:400] or type(exc).__name__


__all__ = ["WorkspaceConnections"]
