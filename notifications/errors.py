"""The one place where smtplib's, ssl's, the socket's and httpx's errors become ``NotifyError``.

    NotifyError                  a notification did not reach its server
    ├── retriable=True           the server was down, slow, busy (4xx SMTP, 5xx/429 HTTP): try again later
    └── retriable=False          the server refused it for good (bad login, recipient refused, 4xx HTTP)

The text names the server and what it answered, never a credential.
"""

from __future__ import annotations

import smtplib
import ssl

import httpx

from notifications.messages import clip_error


class NotifyError(Exception):
    """A notification was not delivered; ``retriable`` says whether sending it again may work."""

    def __init__(self, message: str, *, retriable: bool) -> None:
        super().__init__(clip_error(message))
        self.retriable = retriable


def translate_error(exc: BaseException, *, server: str) -> NotifyError:
    """Our error for one library error raised while talking to ``server`` (host:port or a URL without its path)."""
    if isinstance(exc, NotifyError):
        return exc
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return NotifyError(f"{server} refused the login ({exc.smtp_code})", retriable=False)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return NotifyError(f"{server} refused the recipient ({', '.join(map(str, codes))})",
                           retriable=all(400 <= code < 500 for code in codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return NotifyError(f"{server} answered {exc.smtp_code} {reply}", retriable=400 <= exc.smtp_code < 500)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return NotifyError(f"{server} does not offer what the config asks (STARTTLS or AUTH)", retriable=False)
    if isinstance(exc, smtplib.SMTPException):
        return NotifyError(f"{server}: {type(exc).__name__} {exc}", retriable=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return NotifyError(f"{server}: its TLS certificate is not trusted ({exc.verify_message})", retriable=False)
    if isinstance(exc, ssl.SSLError):
        return NotifyError(f"{server}: TLS failed ({exc.reason or type(exc).__name__})", retriable=True)
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        return NotifyError(f"{server} answered HTTP {code}", retriable=code == 429 or code >= 500)
    if isinstance(exc, httpx.TimeoutException):
        return NotifyError(f"{server} did not answer in time", retriable=True)
    if isinstance(exc, httpx.HTTPError):
        return NotifyError(f"{server} could not be reached ({type(exc).__name__})", retriable=True)
    if isinstance(exc, TimeoutError):
        return NotifyError(f"{server} did not answer in time", retriable=True)
    if isinstance(exc, OSError):
        return NotifyError(f"{server} could not be reached ({exc.strerror or type(exc).__name__})", retriable=True)
    raise exc
