"""The senders of each company's notifications, built from its ``notify`` config and its secrets (never logged)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from closeout.credentials.lookup import read_secret
from closeout.tls import ca_file_for
from notifications import Channel, Notice, NotifyError, SmtpNotifier, WebhookNotifier
from services.config import CloseoutConfig, CompanyConfig, MissingSecretError
from services.notify import Notifier, NotifierFor

SMTP_PASSWORD = "smtp-password"
"""The secret kind of a company's SMTP password: ``$CLOSEOUT_SMTP_PASSWORD_<COMPANY>`` or its Prefect Secret."""
WEBHOOK_URL = "notify-webhook"
"""The secret kind of a company's incoming-webhook URL (the URL is the credential)."""


class _Unavailable:
    """A channel whose secret could not be read: each send fails (not retriable) saying where it was looked for."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def send(self, notice: Notice) -> None:
        raise NotifyError(self._reason, retriable=False)


@contextmanager
def open_notifiers(config: CloseoutConfig, *, client: httpx.Client | None = None) -> Iterator[NotifierFor]:
    """``services.notify.NotifierFor`` over the config: each company's SMTP and webhook sender, built on first use.

    ``client`` is the httpx.Client every webhook posts on (a test's, with its transport); by default one of our
    own, closed on the way out. Secrets are read once per company and channel, only when a notice needs them.
    """
    own = client is None
    http = client or httpx.Client(timeout=15.0, follow_redirects=False)
    built: dict[tuple[str, Channel], Notifier | None] = {}

    def notifier_for(company_id: str, channel: Channel) -> Notifier | None:
        if (company_id, channel) not in built:
            built[company_id, channel] = _build(_company(config, company_id), channel, http)
        return built[company_id, channel]

    try:
        yield notifier_for
    finally:
        if own:
            http.close()


def _company(config: CloseoutConfig, company_id: str) -> CompanyConfig | None:
    return next((c for c in config.companies if c.id == company_id), None)


def _build(company: CompanyConfig | None, channel: Channel, http: httpx.Client) -> Notifier | None:
    notify = company.notify if company is not None else None
    if company is None or notify is None:
        return None
    try:
        if channel is Channel.email and notify.smtp_host:
            password = read_secret(SMTP_PASSWORD, company.id) if notify.smtp_username else ""
            ca_file = ca_file_for(notify.ca_file)
            return SmtpNotifier(host=notify.smtp_host, port=notify.smtp_port, sender=notify.sender,
                                security=notify.smtp_security, username=notify.smtp_username, password=password,
                                ca_file=str(ca_file) if ca_file else None, reply_to=notify.reply_to)
        if channel is Channel.webhook and notify.webhook:
            return WebhookNotifier(read_secret(WEBHOOK_URL, company.id), client=http)
    except MissingSecretError as exc:
        return _Unavailable(str(exc))
    except ValueError as exc:  # a webhook URL that is not one: say so without showing it
        return _Unavailable(f"the {WEBHOOK_URL} secret of {company.id} is not usable: {str(exc).split(':')[0]}")
    return None
