"""Mail parsing, pure: raw RFC 5322 bytes in, a ``ParsedMessage`` value out, whatever the bytes look like."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from email import policy
from email.policy import EmailPolicy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from mappings.mail_text import html_to_text, sanitise_file_name, sniff_media_type

_FALLBACK_CHARSETS = ("utf-8", "cp1252", "latin-1")
# What mailers mean when they say these (as browsers do): Latin-1 labels carry windows-1252 text, ASCII carries UTF-8.
_MEANT = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8"}
_ID = re.compile(r"<[^<>\s]{1,300}>")
"""A message id as RFC 5322 writes it; a longer one (the store keeps 500 characters) is no id at all."""
MAX_ADDRESS = 320  # RFC 5321's 64 + 1 + 255; the store keeps no more
MAX_MEDIA_TYPE = 128
MAX_AUTH_RESULTS = 20
"""Authentication-Results headers kept per message: a receiving chain adds one or two; a message with hundreds
was written that way by its sender, and only the topmost trusted one is ever read."""


@lru_cache(maxsize=4096)
def _fetched_header(name: str, value: str) -> Any:
    return policy.default.header_fetch_parse(name, value)


class _HeadersParsedOnce(EmailPolicy):
    """``policy.default``, except that a header is parsed once: the same name and raw value give the same
    (immutable) header object, within a message (read several times) and across messages (Content-Type,
    To, ... recur). Parsing headers was most of the cost of reading a message."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and not hasattr(value, "name") and len(value) <= 2000:
            return _fetched_header(name, value)
        return super().header_fetch_parse(name, value)


_POLICY = _HeadersParsedOnce()


@dataclass(frozen=True)
class ParsedAttachment:
    """One attachment or inline image. ``content`` is empty when it was over the size cap (``skipped`` says why)."""

    file_name: str
    media_type: str
    content_hash: str
    size_bytes: int
    content: bytes = b""
    inline: bool = False
    skipped: str = ""


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str
    content_hash: str
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    to_addresses: tuple[str, ...] = ()
    sent_at: datetime | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    text: str = ""
    attachments: tuple[ParsedAttachment, ...] = ()
    problems: tuple[str, ...] = ()
    parsed: bool = True
    authentication_results: tuple[str, ...] = ()
    """The raw values of the Authentication-Results headers, topmost first (``mappings.mail_provenance``)."""

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """The messages this one answers, nearest first (In-Reply-To, then References from the end)."""
        seen: list[str] = []
        for mid in self.in_reply_to + tuple(reversed(self.references)):
            if mid not in seen and mid != self.message_id:
                seen.append(mid)
        return tuple(seen)


def content_hash_of(raw: bytes) -> str:
    """SHA-256 of the message with line endings made uniform: IMAP servers turn bare LF into CRLF."""
    return hashlib.sha256(raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")).hexdigest()


def parse_message(raw: bytes, *, max_attachment_bytes: int) -> ParsedMessage:
    """Never raises: a message Python cannot make sense of comes back with ``parsed=False`` and its problems."""
    digest = content_hash_of(raw)
    fallback_id = f"<{digest[:32]}@closeout.invalid>"
    try:
        message = BytesParser(policy=_POLICY).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001 - the parser is not supposed to raise; if it does, keep the raw bytes
        return ParsedMessage(message_id=fallback_id, content_hash=digest, parsed=False,
                             problems=(f"unparseable: {type(exc).__name__}",))
    if not any(message.get(name) for name in ("From", "Date", "Message-ID", "Subject")):
        return ParsedMessage(message_id=fallback_id, content_hash=digest, parsed=False,
                             problems=("no From, Date, Message-ID or Subject header: not a mail message",))
    problems: list[str] = [type(d).__name__ for d in message.defects][:5]
    name, address = _sender(message)
    sent_at, auth_results = _trace_headers(message)
    texts, htmls, attachments = [], [], []
    _walk(message, texts, htmls, attachments, problems, max_attachment_bytes)
    text = "\n\n".join(t for t in texts if t.strip()) or "\n\n".join(html_to_text(h) for h in htmls)
    return ParsedMessage(
        message_id=next(iter(_ids(_header(message, "Message-ID"))), fallback_id),
        content_hash=digest,
        subject=_header(message, "Subject"),
        from_address=address,
        from_name=name,
        to_addresses=tuple(a.lower() for _, a in getaddresses([_header(message, "To"), _header(message, "Cc")]) if a),
        sent_at=sent_at,
        in_reply_to=_ids(_header(message, "In-Reply-To")),
        references=_ids(_header(message, "References")),
        text=text.strip(),
        attachments=tuple(attachments),
        problems=tuple(problems),
        authentication_results=auth_results,
    )


def _header(message: Message, name: str) -> str:
    """A header as text: RFC 2047 decoded; raw 8-bit or broken encodings decoded as well as they can be."""
    try:
        value = message.get(name)
        if value is None:
            return ""
        return " ".join(str(value).split())
    except Exception:  # noqa: BLE001 - a header the policy cannot parse falls back to the legacy decoder
        raw = message.get_all(name, failobj=[""])[0]
        try:
            return " ".join(str(make_header(decode_header(str(raw)))).split())
        except Exception:  # noqa: BLE001
            return " ".join(str(raw).encode("utf-8", "replace").decode("utf-8", "replace").split())


def _sender(message: Message) -> tuple[str, str]:
    pairs = getaddresses([_header(message, "From")])
    if not pairs:
        return "", ""
    name, address = pairs[0]
    address = address.strip().lower()
    return name, address if len(address) <= MAX_ADDRESS else ""


def _ids(value: str) -> tuple[str, ...]:
    return tuple(_ID.findall(value))


def _trace_headers(message: Message) -> tuple[datetime | None, tuple[str, ...]]:
    """The first Date header as a moment, and the Authentication-Results values in order, read from their raw
    values in one pass: the header registry parses a date only to print it again for ``_date`` to parse, the
    same moment at twice the cost (a date was a fifth of a parse)."""
    sent_at: datetime | None = None
    dated = False
    results: list[str] = []
    for name, value in message.raw_items():
        lowered = name.lower()
        if lowered == "date" and not dated:
            sent_at, dated = _date(" ".join(str(value).split())), True
        elif lowered == "authentication-results" and len(results) < MAX_AUTH_RESULTS:
            results.append(" ".join(str(value).split()))
    return sent_at, tuple(results)


def _date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _walk(message: Message, texts: list, htmls: list, attachments: list, problems: list, cap: int) -> None:
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        media_type = part.get_content_type()
        file_name = _part_file_name(part)
        if disposition != "attachment" and not file_name and media_type in ("text/plain", "text/html"):
            (texts if media_type == "text/plain" else htmls).append(_decode_text(part, problems))
            continue
        if media_type.startswith("multipart/"):  # a multipart whose boundary never came: its body is text
            if isinstance(part.get_payload(), str) and part.get_payload().strip():
                texts.append(part.get_payload())
            continue
        if media_type == "message/rfc822" and not file_name:
            continue
        attachments.append(_attachment(part, file_name, media_type, disposition, cap, problems))


def _part_file_name(part: Message) -> str:
    try:
        return part.get_filename() or ""
    except Exception:  # noqa: BLE001 - a broken RFC 2231 name
        return ""


def _decode_text(part: Message, problems: list) -> str:
    payload = part.get_payload(decode=True) or b""
    declared = _MEANT.get(part.get_content_charset() or "us-ascii", part.get_content_charset() or "us-ascii")
    for charset in dict.fromkeys((declared, *_FALLBACK_CHARSETS)):
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            if charset == declared:
                problems.append(f"text not in its declared charset {declared!r}")
    return payload.decode("utf-8", "replace")


def _attachment(part: Message, file_name: str, media_type: str, disposition: str, cap: int,
                problems: list) -> ParsedAttachment:
    content = part.get_payload(decode=True) or b""
    if isinstance(part, EmailMessage) and part.get_content_type() == "message/rfc822":
        content = part.as_bytes()
    digest = hashlib.sha256(content).hexdigest()
    if len(media_type) > MAX_MEDIA_TYPE:  # no registered type is this long; the store keeps 128 characters
        problems.append(f"attachment media type of {len(media_type)} characters read as application/octet-stream")
        media_type = "application/octet-stream"
    sniffed = sniff_media_type(content[:64], declared=media_type)
    name = sanitise_file_name(file_name, media_type=sniffed, content_hash=digest)
    inline = disposition == "inline" or (not disposition and bool(part.get("Content-ID")))
    if len(content) > cap:
        problems.append(f"attachment {name!r} is {len(content)} bytes, over the cap of {cap}")
        return ParsedAttachment(name, sniffed, digest, len(content), inline=inline,
                                skipped=f"over the size cap of {cap} bytes")
    return ParsedAttachment(name, sniffed, digest, len(content), content=content, inline=inline)
