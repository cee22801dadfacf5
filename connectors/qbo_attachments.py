"""QuickBooks Online invoice attachments (Attachable upload) and invoice e-mail, on python-quickbooks.

Used by ``connectors.qbo.QuickBooksLedger`` (its ``attach_file``, ``attachment_names``, ``send_invoice`` and
``invoice_sent``), which passes its SDK client and its ``_call`` so every error is typed by ``qbo._translate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quickbooks import QuickBooks
from quickbooks.objects.attachable import Attachable
from quickbooks.objects.base import AttachableRef, Ref
from quickbooks.objects.invoice import Invoice

MAX_FILE_BYTES = 100 * 1024 * 1024
"""Intuit's limit for one attachment (100 MB); a bigger file is never sent."""

Call = Callable[..., Any]


def attach_file(qb: QuickBooks, call: Call, ledger_id: str, *, file_name: str, content_type: str,
                data: bytes) -> str:
    """Upload ``data`` as an Attachable linked to Invoice ``ledger_id`` (included when the invoice is e-mailed);
    the Attachable's id. QBO has no requestid for uploads: look ``attachment_names`` up before a resend."""
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{file_name} is {len(data)} bytes; QuickBooks takes at most {MAX_FILE_BYTES}")
    ref = AttachableRef()
    ref.EntityRef = Ref()
    ref.EntityRef.type, ref.EntityRef.value = "Invoice", str(ledger_id)
    ref.IncludeOnSend = True
    attachable = Attachable()
    attachable.AttachableRef.append(ref)
    attachable.FileName, attachable.ContentType = file_name, content_type
    attachable._FileBytes = data
    saved = call("attach_file", lambda: attachable.save(qb=qb))
    return str(saved.Id)


def attachment_names(qb: QuickBooks, call: Call, ledger_id: str) -> list[str]:
    """The file names of every Attachable linked to Invoice ``ledger_id``."""
    clause = f"AttachableRef.EntityRef.Value = '{_quoted(str(ledger_id))}'"
    found = call("attachment_names", lambda: Attachable.where(clause, max_results=1000, qb=qb))
    return [str(item.FileName) for item in found if item.FileName]


def send_invoice(qb: QuickBooks, call: Call, ledger_id: str, *, email: str) -> None:
    """E-mail Invoice ``ledger_id`` to ``email`` through QuickBooks (``/invoice/{id}/send?sendTo=``)."""
    if not email or "@" not in email:
        raise ValueError("send_invoice needs the customer's e-mail address")
    invoice = Invoice()
    invoice.Id = str(ledger_id)
    call("send_invoice", lambda: invoice.send(qb=qb, send_to=email))


def invoice_sent(qb: QuickBooks, call: Call, ledger_id: str) -> bool:
    """True when QuickBooks says Invoice ``ledger_id`` was e-mailed (EmailStatus EmailSent)."""
    invoice = call("invoice_sent", lambda: Invoice.get(str(ledger_id), qb=qb))
    return invoice.EmailStatus == "EmailSent"


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
