"""ImapInbox: read a mailbox over IMAP with imapclient, read-only and incrementally, errors typed in one place."""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, LoginError
from imapclient.imapclient import SocketTimeout

from connectors.errors import AuthError, FatalError, RetriableError

SYSTEM = "imap"
Security = Literal["ssl", "starttls", "plaintext"]


@dataclass(frozen=True)
class MailCursor:
    """Where a folder was read up to. A different UIDVALIDITY means the UIDs were renumbered: read it all again."""

    uid_validity: int
    last_uid: int

    def encode(self) -> str:
        return f"{self.uid_validity}:{self.last_uid}"

    @classmethod
    def decode(cls, value: str | None) -> "MailCursor | None":
        if not value:
            return None
        validity, _, last = value.partition(":")
        return cls(int(validity), int(last))


@dataclass(frozen=True)
class MailBatch:
    """Raw messages of one folder in UID order, and the cursor to store once they are committed."""

    folder: str
    messages: tuple[tuple[int, bytes], ...]
    cursor: MailCursor
    rescan: bool = False


class ImapInbox:
    """One IMAP account. TLS (IMAPS or STARTTLS, certificates verified) unless ``security="plaintext"`` is explicit.

    Errors: a refused login is ``AuthError``; timeouts, refused or dropped connections are ``RetriableError``;
    a certificate that does not verify or a server without STARTTLS is ``FatalError``. The password is never
    part of a message. ``commands`` counts the IMAP commands this inbox has sent (for the cost of a poll).
    """

    def __init__(self, host: str, port: int, username: str, password: str, *, security: Security = "ssl",
                 ca_file: str | None = None, connect_timeout: float = 10, read_timeout: float = 30,
                 batch_size: int = 100, name: str = "imap") -> None:
        if security not in ("ssl", "starttls", "plaintext"):
            raise FatalError(f"unknown security {security!r}", system=SYSTEM, operation="configure")
        self.name = name
        self.host, self.port, self.username = host, port, username
        self._password = password
        self.security = security
        self.ca_file = ca_file
        self.timeout = SocketTimeout(connect=connect_timeout, read=read_timeout)
        self.batch_size = batch_size
        self.commands = 0
        self._client: IMAPClient | None = None

    # ---- the connection ------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def connect(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        with self._errors("connect"):
            client = IMAPClient(self.host, port=self.port, ssl=self.security == "ssl",
                                ssl_context=self._tls_context() if self.security == "ssl" else None,
                                timeout=self.timeout)
            self._count_commands(client)
            if self.security == "starttls":
                client.starttls(self._tls_context())
            client.login(self.username, self._password)
        self._client = client
        return client

    def _count_commands(self, client: IMAPClient) -> None:
        imap = client._imap
        send: Callable[..., Any] = imap._command

        def counted(*args: Any) -> Any:
            self.commands += 1
            return send(*args)

        imap._command = counted

    def close(self) -> None:
        """Log out; a connection that is already gone is simply dropped."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            try:
                client.shutdown()
            except OSError:
                pass

    def _drop(self) -> None:
        """Forget a connection that failed; its socket is closed without another command."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.shutdown()
            except (OSError, imaplib.IMAP4.error):
                pass

    def __enter__(self) -> "ImapInbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        """The one place imapclient's and the socket's errors become ours."""
        where = {"system": SYSTEM, "operation": operation}
        target = f"{self.username}@{self.host}:{self.port}"
        try:
            yield
        except LoginError:
            self._client = None
            raise AuthError(f"login refused for {target}", **where) from None
        except ssl.SSLCertVerificationError as exc:
            self._client = None
            raise FatalError(f"TLS certificate of {target} does not verify: {exc.verify_message}", **where) from None
        except CapabilityError as exc:
            self._client = None
            raise FatalError(f"{target}: {exc}", **where) from None
        except (OSError, imaplib.IMAP4.abort) as exc:  # timeouts, refused, reset, EOF, TLS failures
            self._drop()
            raise RetriableError(f"connection to {target} failed: {type(exc).__name__}: {exc}", **where) from None
        except imaplib.IMAP4.error as exc:
            raise FatalError(f"{target}: the server refused {operation}: {exc}", **where) from None

    # ---- reading -------------------------------------------------------------------------------

    def fetch_new(self, folder: str, cursor: MailCursor | None) -> Iterator[MailBatch]:
        """Batches of messages after ``cursor``, fetched with BODY.PEEK[] on a read-only SELECT (no flag changes).

        A poll with nothing new costs EXAMINE alone (after LOGIN): UIDNEXT says there is nothing to fetch.
        """
        client = self.connect()
        with self._errors("select"):
            status = client.select_folder(folder, readonly=True)
        validity = int(status[b"UIDVALIDITY"])
        uid_next = int(status.get(b"UIDNEXT", 0) or 0)
        rescan = cursor is not None and cursor.uid_validity != validity
        last = cursor.last_uid if cursor is not None and not rescan else 0
        if uid_next and uid_next <= last + 1:
            if rescan:
                yield MailBatch(folder, (), MailCursor(validity, last), rescan=True)
            return
        with self._errors("search"):
            uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        if not uids and rescan:
            yield MailBatch(folder, (), MailCursor(validity, 0), rescan=True)
        for start in range(0, len(uids), self.batch_size):
            chunk = uids[start:start + self.batch_size]
            with self._errors("fetch"):
                response = client.fetch(chunk, ["BODY.PEEK[]"])
            messages = tuple((uid, response[uid][b"BODY[]"]) for uid in chunk if uid in response)
            yield MailBatch(folder, messages, MailCursor(validity, chunk[-1]), rescan=rescan)

    def newest_arrival(self, folder: str) -> datetime | None:
        """When the newest message of ``folder`` arrived (its INTERNALDATE, aware), None when the folder is empty.

        A health probe: LOGIN (if not connected), EXAMINE, a SEARCH for the last message's UID, one FETCH.
        """
        client = self.connect()
        with self._errors("select"):
            status = client.select_folder(folder, readonly=True)
        count = int(status.get(b"EXISTS", 0) or 0)
        if not count:
            return None
        with self._errors("fetch"):
            last = client.search([str(count)])  # the sequence number of the last message -> its UID
            response = client.fetch(last, ["INTERNALDATE"]) if last else {}
        dates = [item[b"INTERNALDATE"] for item in response.values() if b"INTERNALDATE" in item]
        if not dates:
            return None
        newest = max(date if date.tzinfo else date.astimezone() for date in dates)
        return newest.astimezone(timezone.utc)

    def move_processed(self, folder: str, uids: list[int], target: str) -> None:
        """Move committed messages to ``target`` (only when the config asks for it): the one write Closeout makes."""
        if not uids:
            return
        client = self.connect()
        with self._errors("move"):
            client.select_folder(folder, readonly=False)
            if target not in [name for _, _, name in client.list_folders()]:
                client.create_folder(target)
            client.move(uids, target)
            client.unselect_folder()
