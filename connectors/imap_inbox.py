"""ImapInbox: read a mailbox over IMAP with imapclient, read-only and incrementally, errors typed in one place."""

from __future__ import annotations

import imaplib
import ssl
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, LoginError
from imapclient.imapclient import SocketTimeout

from connectors.errors import AuthError, FatalError, RetriableError
from connectors.oauth import TokenProvider

SYSTEM = "imap"
Security = Literal["ssl", "starttls", "plaintext"]
Mechanism = Literal["XOAUTH2", "OAUTHBEARER"]


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


HEAD_BYTES = 64 * 1024
"""What is read of a message over ``max_message_bytes``: its header section, cut at this many bytes (the headers
name the sender, subject and date a person needs to find the message in a mail client)."""
MAX_MESSAGE_BYTES = 50_000_000
MAX_BATCH_BYTES = 64_000_000


@dataclass(frozen=True)
class MailBatch:
    """Raw messages of one folder in UID order, and the cursor to store once they are committed.

    ``over_cap`` lists (uid, full size in bytes) of the messages that were over the size cap: their bytes here
    are their header section only.
    """

    folder: str
    messages: tuple[tuple[int, bytes], ...]
    cursor: MailCursor
    rescan: bool = False
    over_cap: tuple[tuple[int, int], ...] = ()


def byte_batches(items: list[tuple[int, int]], *, batch_size: int, max_batch_bytes: int,
                 max_message_bytes: int) -> list[list[int]]:
    """(uid, size) in order, grouped into batches of at most ``batch_size`` messages and ``max_batch_bytes``
    bytes, each with at least one message. A message over ``max_message_bytes`` weighs its header cut only."""
    batches: list[list[int]] = []
    current: list[int] = []
    weight = 0
    for uid, size in items:
        size = min(size, HEAD_BYTES) if size > max_message_bytes else size
        if current and (len(current) >= batch_size or weight + size > max_batch_bytes):
            batches.append(current)
            current, weight = [], 0
        current.append(uid)
        weight += size
    if current:
        batches.append(current)
    return batches


def _shut(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except (OSError, imaplib.IMAP4.error):
        pass


def header_section(raw: bytes, limit: int = HEAD_BYTES) -> bytes:
    """The message's header section, up to and with the blank line that ends it, at most ``limit`` bytes."""
    head = raw[:limit]
    ends = [at + len(mark) for mark in (b"\r\n\r\n", b"\n\n") if (at := head.find(mark)) >= 0]
    return head[:min(ends)] if ends else head


class ImapInbox:
    """One IMAP account. TLS (IMAPS or STARTTLS, certificates verified) unless ``security="plaintext"`` is explicit.

    Errors: a refused login is ``AuthError``; timeouts, refused or dropped connections are ``RetriableError``;
    a certificate that does not verify or a server without STARTTLS is ``FatalError``. The password is never
    part of a message. ``commands`` counts the IMAP commands this inbox has sent (for the cost of a poll).

    With ``token_provider`` (``connectors.oauth.TokenProvider``) it signs in with OAuth2 instead of the password:
    ``mechanism`` XOAUTH2 (Microsoft 365, Gmail) or OAUTHBEARER (RFC 7628), the user ``username``. A token the
    server refuses (it ended early, or was revoked) is renewed once (``token_provider(refused)``) and tried
    again on the same connection; a second refusal is ``AuthError``, and so is a refused renewal (the
    provider's own ``AuthError``). No token is part of a message.
    """

    def __init__(self, host: str, port: int, username: str, password: str, *, security: Security = "ssl",
                 ca_file: str | None = None, connect_timeout: float = 10, read_timeout: float = 30,
                 batch_size: int = 100, max_message_bytes: int = MAX_MESSAGE_BYTES,
                 max_batch_bytes: int = MAX_BATCH_BYTES, name: str = "imap",
                 token_provider: TokenProvider | None = None, mechanism: Mechanism = "XOAUTH2") -> None:
        if security not in ("ssl", "starttls", "plaintext"):
            raise FatalError(f"unknown security {security!r}", system=SYSTEM, operation="configure")
        if mechanism not in ("XOAUTH2", "OAUTHBEARER"):
            raise FatalError(f"unknown SASL mechanism {mechanism!r}", system=SYSTEM, operation="configure")
        self._tokens, self.mechanism = token_provider, mechanism
        self.name = name
        self.host, self.port, self.username = host, port, username
        self._password = password
        self.security = security
        self.ca_file = ca_file
        self.timeout = SocketTimeout(connect=connect_timeout, read=read_timeout)
        self.batch_size = batch_size
        self.max_message_bytes, self.max_batch_bytes = max_message_bytes, max_batch_bytes
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
            try:
                if self.security == "starttls":
                    client.starttls(self._tls_context())
                self._sign_in(client)
            except BaseException:
                _shut(client)  # a refused sign-in leaves no connection open
                raise
        self._client = client
        return client

    def _sign_in(self, client: IMAPClient) -> None:
        if self._tokens is None:
            client.login(self.username, self._password)
            return
        token = self._tokens(None)
        try:
            self._token_login(client, token)
        except LoginError:  # ended before its time or revoked: one fresh token, then the refusal stands
            self._token_login(client, self._tokens(token))

    def _token_login(self, client: IMAPClient, token: str) -> None:
        if self.mechanism == "OAUTHBEARER":
            client.oauthbearer_login(self.username, token)
        else:
            client.oauth2_login(self.username, token, mech="XOAUTH2")

    def _count_commands(self, client: IMAPClient) -> None:
        imap = client._imap
        send: Callable[..., Any] = imap._command

        def counted(_imap: Any, *args: Any) -> Any:
            self.commands += 1
            return send(*args)

        # a bound method, as imaplib's own: AUTHENTICATE tells its callback from a literal by ``type(self._command)``
        imap._command = types.MethodType(counted, imap)

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
            how = f" ({self.mechanism}, a renewed access token refused too)" if self._tokens is not None else ""
            raise AuthError(f"login refused for {target}{how}", code="login_refused", **where) from None
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
        Memory is bounded by bytes, not by the mailbox: the sizes (RFC822.SIZE) of each ``batch_size`` UIDs are
        read first, then bodies in batches of at most ``max_batch_bytes``; a message over ``max_message_bytes``
        is fetched as its header section only (``MailBatch.over_cap``). Nothing is fetched ahead of the batch
        the caller asks for.
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
                listed = client.fetch(chunk, ["RFC822.SIZE"])
            sizes = {uid: int(listed[uid].get(b"RFC822.SIZE", 0) or 0) for uid in chunk if uid in listed}
            for group in byte_batches([(uid, sizes[uid]) for uid in chunk if uid in sizes],
                                      batch_size=self.batch_size, max_batch_bytes=self.max_batch_bytes,
                                      max_message_bytes=self.max_message_bytes):
                yield self._fetch_batch(client, folder, group, sizes, MailCursor(validity, group[-1]), rescan)

    def _fetch_batch(self, client: IMAPClient, folder: str, uids: list[int], sizes: dict[int, int],
                     cursor: MailCursor, rescan: bool) -> MailBatch:
        whole = [uid for uid in uids if sizes[uid] <= self.max_message_bytes]
        over = [uid for uid in uids if sizes[uid] > self.max_message_bytes]
        head = min(HEAD_BYTES, self.max_message_bytes)
        raws: dict[int, bytes] = {}
        with self._errors("fetch"):
            if whole:
                raws.update((uid, item[b"BODY[]"]) for uid, item in client.fetch(whole, ["BODY.PEEK[]"]).items()
                            if b"BODY[]" in item)
            if over:
                answer = client.fetch(over, [f"BODY.PEEK[HEADER]<0.{head}>"])
                raws.update((uid, header_section(next(iter(item[k] for k in item if k.startswith(b"BODY[")), b"")))
                            for uid, item in answer.items())
        capped = dict((uid, sizes[uid]) for uid in over)
        for uid in whole:  # a server whose RFC822.SIZE understated the message: the cap still holds
            if uid in raws and len(raws[uid]) > self.max_message_bytes:
                capped[uid], raws[uid] = len(raws[uid]), header_section(raws[uid], head)
        messages = tuple((uid, raws[uid]) for uid in uids if uid in raws)
        return MailBatch(folder, messages, cursor, rescan=rescan,
                         over_cap=tuple((uid, capped[uid]) for uid in uids if uid in capped and uid in raws))

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
