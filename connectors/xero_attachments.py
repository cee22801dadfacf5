"""Xero invoice attachments and invoice e-mail, on xero-python's AccountingApi.

Used by ``connectors.xero.XeroLedger`` (its ``attach_file``, ``attachment_names``, ``send_invoice`` and
``invoice_sent``), which passes its own ``_call`` so every error is typed by ``xero_errors.translate_xero_error``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from xero_python.accounting.models import RequestEmpty

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Xero's API limit for one attachment (10 MB); a bigger file is never sent."""
MAX_PER_INVOICE = 10
"""Xero takes at most 10 attachments on one document."""

Call = Callable[..., Any]


def attach_file(call: Call, ledger_id: str, *, file_name: str, content_type: str, data: bytes) -> str:
    """PUT ``data`` as attachment ``file_name`` of invoice ``ledger_id`` (shown with the online invoice); its
    AttachmentID. Xero replaces a same-named file rather than adding one, and the Idempotency-Key is derived
    from the invoice, name and bytes, so a resend never doubles it. ``content_type``: Xero infers it from the name.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{file_name} is {len(data)} bytes; Xero takes at most {MAX_FILE_BYTES}")
    key = "co-att-" + hashlib.sha256(f"{ledger_id}|{file_name}|".encode() + data).hexdigest()[:48]
    saved = call("attach_file", "create_invoice_attachment_by_file_name", str(ledger_id), file_name, data,
                 include_online=True, idempotency_key=key)
    attachments = saved.attachments or []
    return str(attachments[0].attachment_id) if attachments else ""


def attachment_names(call: Call, ledger_id: str) -> list[str]:
    """The file names attached to invoice ``ledger_id``."""
    found = call("attachment_names", "get_invoice_attachments", str(ledger_id))
    return [str(item.file_name) for item in found.attachments or [] if item.file_name]


def send_invoice(call: Call, ledger_id: str, *, email: str) -> None:
    """E-mail invoice ``ledger_id`` through Xero. Xero sends to the contact's own EmailAddress (``email`` must be
    given, as the address the contact was found or created with); a DRAFT invoice or a contact without an
    address is refused (RejectedError)."""
    if not email or "@" not in email:
        raise ValueError("send_invoice needs the customer's e-mail address")
    key = "co-email-" + hashlib.sha256(str(ledger_id).encode()).hexdigest()[:48]
    call("send_invoice", "email_invoice", str(ledger_id), RequestEmpty(), idempotency_key=key)


def invoice_sent(call: Call, ledger_id: str) -> bool:
    """True when Xero says invoice ``ledger_id`` was sent to its contact (SentToContact)."""
    found = call("invoice_sent", "get_invoice", str(ledger_id))
    invoices = found.invoices or []
    return bool(invoices and invoices[0].sent_to_contact)
