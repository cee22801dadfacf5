"""SmtpNotifier: a notice as one plain-text e-mail over SMTP (STARTTLS, implicit TLS, or plain to loopback only)."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from notifications.errors import NotifyError, translate_error
from notifications.messages import ANSWERED_BY_MAIL, Channel, Notice

Security = Literal["starttls", "tls", "plain"]
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class SmtpNotifier:
    """Sends each notice as its own connection's one message: notices are few, and a dead connection never waits.

    ``plain`` (no TLS) is refused for any host but loopback, so a password never crosses a network in clear.
    The Message-ID is derived from the notice's key: a receiver that dedupes by it sees a re-send as the same mail.
    A notice whose answer Closeout reads (``ANSWERED_BY_MAIL``: a request to a customer) carries ``reply_to``, the
    address of a mailbox Closeout reads; every other notice is from a sender nobody needs to answer.
    """

    channel = Channel.email

    def __init__(self, *, host: str, port: int, sender: str, security: Security = "starttls",
                 username: str = "", password: str = "", timeout: float = 30.0,
                 ca_file: str | None = None, reply_to: str = "") -> None:
        if security == "plain" and host not in LOOPBACK:
            raise ValueError(f"smtp security 'plain' is only for a server on this machine, not {host}")
        self.host, self.port, self.sender, self.security = host, port, sender, security
        self._username, self._password = username, password
        self._timeout = timeout
        self._ca_file = ca_file
        self.reply_to = reply_to

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def send(self, notice: Notice) -> None:
        """Deliver the notice to its recipient; NotifyError (retriable or not) when the server did not take it."""
        message = self._message(notice)
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=self._context())
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(message)
        except NotifyError:
            raise
        except Exception as exc:  # noqa: BLE001 - translate_error re-raises what is not a delivery failure
            raise translate_error(exc, server=self.server) from None

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self._timeout, context=self._context())
        return smtplib.SMTP(self.host, self.port, timeout=self._timeout)

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self._ca_file)

    def _message(self, notice: Notice) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = notice.recipient
        message["Subject"] = notice.subject
        if self.reply_to and notice.kind in ANSWERED_BY_MAIL:
            message["Reply-To"] = self.reply_to
        message["Date"] = formatdate(localtime=False, usegmt=True)
        digest = hashlib.sha256(notice.key.encode()).hexdigest()[:32]
        domain = self.sender.rpartition("@")[2] or "closeout.invalid"
        message["Message-ID"] = f"<{digest}@{domain}>"
        message["X-Closeout-Notice"] = str(notice.kind)
        message.set_content(notice.body)
        return message
