"""Xero ledger on the xero-python SDK (15.2.0); every SDK and urllib3 error is typed in ``xero_errors.translate_xero_error``."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import urllib3
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import (Address, Allocation, Allocations, Contact, Contacts, CreditNote,
                                           CreditNotes, CurrencyCode, Invoice, Invoices, LineAmountTypes, LineItem,
                                           LineItemTracking)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import HTTPStatusException

from connectors import xero_attachments
from connectors.ledger_catalog import LedgerCatalog
from connectors.errors import FatalError, RejectedError, UncertainOutcomeError
from connectors.oauth import TokenProvider
from connectors.xero_catalog import read_xero_catalog
from connectors.xero_errors import NOT_FOUND, SYSTEM, translate_xero_error

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LOOKUP_CHUNK = 25
DUPLICATE_INVOICE_NUMBER = "duplicate_invoice_number"
DUPLICATE_CREDIT_NOTE_NUMBER = "duplicate_credit_note_number"
MAX_KEY = 128  # Xero's Idempotency-Key: "128 character max." (the spec's idempotencyKey parameter)
GONE = ("VOIDED", "DELETED")  # Xero's statuses of a document that no longer asks for (or gives) money
ZERO = Decimal("0.00")
MAX_BATCH = 50  # Xero: "we recommend you … batch elements in bundles of up to 50" (no hard cap; ledgers.md §2.1)
_CONFIGURATION_LOCK = threading.Lock()


@dataclass(frozen=True)
class LedgerInvoice:
    """Xero's own figures: SubTotal (before tax), TotalTax and Total; with Inclusive lines the lines add up to
    Total, not SubTotal (Xero: "SubTotal: Total of invoice excluding taxes"). A VOIDED or DELETED document
    reads 0.00 in all three, whatever Xero still shows (its reports keep a voided invoice's value): nothing is
    owed on it, as the port says of a void and as a QBO void leaves it. A credit note (ACCRECCREDIT) fills the
    same fields: its CreditNoteID, CreditNoteNumber, and RemainingCredit as ``balance``."""

    ledger_id: str
    doc_number: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    customer_ref: str
    status: str = ""
    currency: str = ""
    balance: Decimal | None = None
    """AmountDue: "Amount remaining to be paid on invoice" (the spec's Invoice); None when not answered."""


def _where_equals(field: str, values: Sequence[str]) -> str:
    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return " OR ".join(f"{field}=={quoted(value)}" for value in values)


def _ledger_invoice(invoice: Invoice) -> LedgerInvoice:
    return _ledger_document(invoice, ledger_id=invoice.invoice_id, doc_number=invoice.invoice_number,
                            balance=invoice.amount_due)


def _ledger_credit(credit: CreditNote) -> LedgerInvoice:
    return _ledger_document(credit, ledger_id=credit.credit_note_id, doc_number=credit.credit_note_number,
                            balance=credit.remaining_credit)


def _ledger_document(document: Invoice | CreditNote, *, ledger_id: Any, doc_number: str | None,
                     balance: Any) -> LedgerInvoice:
    status = _status(document)
    gone = status in GONE
    return LedgerInvoice(
        ledger_id=str(ledger_id), doc_number=doc_number or "",
        subtotal=ZERO if gone else _money(document.sub_total), tax=ZERO if gone else _money(document.total_tax),
        total=ZERO if gone else _money(document.total),
        customer_ref=str(document.contact.contact_id) if document.contact else "", status=status,
        currency=str(getattr(document.currency_code, "value", document.currency_code) or ""),
        balance=(ZERO if gone else _money(balance)) if balance is not None else None,
    )


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def _address(kind: str, fields: Mapping[str, str]) -> Address:
    return Address(address_type=kind, address_line1=fields.get("AddressLine1"), address_line2=fields.get("AddressLine2"),
                   city=fields.get("City"), region=fields.get("Region"), postal_code=fields.get("PostalCode"),
                   country=fields.get("Country"))


def _sdk_lines(payload: Mapping[str, Any]) -> list[LineItem]:
    return [LineItem(description=line.get("Description"), quantity=line.get("Quantity"),
                     unit_amount=line.get("UnitAmount"), item_code=line.get("ItemCode"),
                     account_code=line.get("AccountCode"), tax_type=line.get("TaxType"),
                     line_amount=line.get("LineAmount"),
                     tracking=[LineItemTracking(name=t["Name"], option=t["Option"]) for t in line["Tracking"]]
                     if line.get("Tracking") else None)
            for line in payload.get("LineItems", [])]


def _sdk_terms(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The SDK fields an invoice and a credit note share (SDK models validate enums client-side)."""
    return dict(contact=Contact(contact_id=payload["Contact"]["ContactID"]), reference=payload.get("Reference"),
                date=payload.get("Date"), status=payload.get("Status"),
                line_amount_types=LineAmountTypes(payload.get("LineAmountTypes", "Exclusive")),
                currency_code=CurrencyCode(payload["CurrencyCode"]) if payload.get("CurrencyCode") else None,
                line_items=_sdk_lines(payload))


def _sdk_invoice(payload: Mapping[str, Any]) -> Invoice:
    """The SDK model for a ``mappings.xero`` invoice payload."""
    return Invoice(type=payload.get("Type", "ACCREC"), invoice_number=payload.get("InvoiceNumber"),
                   due_date=payload.get("DueDate"), **_sdk_terms(payload))


def _sdk_credit_note(payload: Mapping[str, Any]) -> CreditNote:
    """The SDK model for a ``mappings.xero.to_xero_credit_note`` payload."""
    return CreditNote(type=payload.get("Type", "ACCRECCREDIT"), credit_note_number=payload.get("CreditNoteNumber"),
                      **_sdk_terms(payload))


def _step_key(key: str, step: str) -> str:
    """The Idempotency-Key of a second request made for one caller's key (a credit note's allocation)."""
    derived = f"{key}:{step}"
    return derived if len(derived) <= MAX_KEY else f"co-{step}-" + hashlib.sha256(key.encode()).hexdigest()[:48]


def _checked_key(key: str) -> None:
    if not key or len(key) > MAX_KEY:
        raise ValueError(f"Xero Idempotency-Key must be 1-{MAX_KEY} characters")


class XeroLedger:
    """One Xero organisation (tenant) through xero-python; satisfies ``workorders.ports.CorrectingLedger``.

    ``base_url`` is the API root, ``https://api.xero.com/api.xro/2.0`` or ``http://127.0.0.1:PORT/api.xro/2.0``
    for the sandbox. Every method raises only ``connectors.errors`` types. urllib3's own retries are off:
    a resend is decided by the push step, after a lookup, never silently by the transport.
    The bearer token is a fixed ``access_token`` or comes from ``token_provider`` before every call (the
    SDK's ``oauth2_token_getter`` hands it over); a call answered 401 asks the provider once for a fresh
    token and is sent once more (see ledger_oauth.TokenProvider).
    """

    name = "xero"
    max_batch = MAX_BATCH  # the port's batch size: push_batch sends a claim of several in one PUT

    def __init__(self, *, base_url: str, tenant_id: str, access_token: str = "", timeout: float = 30.0,
                 page_size: int = 100, token_provider: TokenProvider | None = None, ca_file: str | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if parts.scheme == "http" and parts.hostname not in LOOPBACK:
            raise ValueError("http:// is only allowed for a loopback sandbox; use https://")
        if not tenant_id or not (access_token or token_provider):
            raise ValueError("tenant_id and an access_token or token_provider are required")
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be 1..1000 (Xero's pageSize limit)")
        self.tenant_id, self.page_size, self.base_url = tenant_id, page_size, base_url.rstrip("/")
        self._token, self._provider, self._local = access_token, token_provider, threading.local()
        self._timeout = (timeout, timeout)
        with _CONFIGURATION_LOCK:  # Configuration is a metaclass singleton: reset it around our construction
            Configuration.set_default(None)
            configuration = Configuration(oauth2_token=OAuth2Token(client_id="closeout", client_secret="unused"))
            Configuration.set_default(None)
        configuration.ssl_ca_cert = ca_file  # the SDK's own setting, kept in step with the pool below
        client = ApiClient(configuration, oauth2_token_getter=self._sdk_token, oauth2_token_saver=lambda _: None)
        # Certificates always verified: the system's CAs, or ca_file (a private CA).
        client.rest_client.pool_manager = urllib3.PoolManager(num_pools=4, maxsize=5, retries=False,  # 5 at once
                                                              cert_reqs="CERT_REQUIRED", ca_certs=ca_file)
        self._api = AccountingApi(client, base_url=self.base_url)

    def __repr__(self) -> str:
        return f"XeroLedger(tenant_id={self.tenant_id!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._api.api_client.rest_client.pool_manager.clear()

    def _sdk_token(self) -> dict[str, Any]:
        """This thread's token in the SDK's shape; no expires_at, so the SDK never refreshes it (ledgers.md §3.2)."""
        return {"access_token": getattr(self._local, "token", None) or self._token, "token_type": "Bearer",
                "expires_in": 1800, "scope": ["accounting.transactions", "accounting.contacts", "accounting.settings"]}

    def _call(self, operation: str, method: str, *args: Any, creating: bool = False, **kwargs: Any) -> Any:
        refused: str | None = None
        while True:
            token = self._provider(refused) if self._provider else self._token
            self._token = self._local.token = token
            try:
                return getattr(self._api, method)(self.tenant_id, *args, _request_timeout=self._timeout, **kwargs)
            except Exception as exc:
                if (refused is None and self._provider and isinstance(exc, HTTPStatusException)
                        and exc.status == 401):
                    refused = token  # a 401 was not processed: safe to send again, once, with a fresh token
                    continue
                raise translate_xero_error(exc, operation=operation, creating=creating, secret=token) from exc

    def find_customers(self, *, name: str, email: str | None) -> list[str]:
        """ContactIDs of active contacts whose EmailAddress is ``email`` (any case), else whose Name is ``name``."""
        if email:
            found = self._call("find_customers", "get_contacts", where=_where_equals("EmailAddress", [email]))
            ids = [str(c.contact_id) for c in found.contacts or []
                   if (c.email_address or "").casefold() == email.casefold() and _active(c)]
            if ids:
                return ids
        found = self._call("find_customers", "get_contacts", where=_where_equals("Name", [name]))
        return [str(c.contact_id) for c in found.contacts or [] if c.name == name and _active(c)]

    def list_customers(self, *, page: int = 1) -> list[tuple[str, str, str | None]]:
        """One page of ``(ContactID, Name, EmailAddress)`` of contacts, 1,000 a page; archived ones left out."""
        answer = self._call("list_customers", "get_contacts", page=page, page_size=1000)
        return [(str(c.contact_id), c.name or "", c.email_address or None) if _active(c) else ("", "", None)
                for c in answer.contacts or []]

    def create_customer(self, *, name: str, email: str | None,
                        addresses: Mapping[str, Mapping[str, str]] | None = None) -> str:
        """Create a contact named ``name`` with ``addresses`` (``mappings.xero.contact_addresses``: by Xero
        AddressType); a taken name → RejectedError code ``duplicate_name``."""
        contact = Contact(name=name, email_address=email) if email else Contact(name=name)
        if addresses:
            contact.addresses = [_address(kind, fields) for kind, fields in addresses.items()]
        saved = self._call("create_customer", "create_contacts", Contacts(contacts=[contact]), summarize_errors=False)
        created = saved.contacts[0]
        if created.has_validation_errors or created.validation_errors:
            messages = [str(v.message) for v in created.validation_errors or []]
            code = "duplicate_name" if any("already assigned" in m for m in messages) else "validation_error"
            raise RejectedError(messages[0] if messages else "Xero refused the contact", code=code,
                                detail="; ".join(messages), system=SYSTEM, operation="create_customer")
        return str(created.contact_id)

    def create_invoice(self, payload: Mapping[str, Any], *, idempotency_key: str) -> LedgerInvoice:
        """Create the invoice ``payload`` (mappings.xero) with ``Idempotency-Key: idempotency_key``.

        Xero replays the first answer to a repeated key for 6 minutes only, so an UncertainOutcomeError
        (timeout, dropped connection, 5xx) is resolved with ``find_invoices`` before any resend. A refused
        invoice → RejectedError with Xero's message; code ``duplicate_invoice_number`` when the number is taken.
        """
        _checked_key(idempotency_key)
        if payload.get("InvoiceID"):
            raise ValueError("create_invoice creates; the payload must not carry an InvoiceID")
        try:
            invoice = _sdk_invoice(payload)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"not a Xero invoice payload: {exc}") from exc
        saved = self._call("create_invoice", "create_invoices", Invoices(invoices=[invoice]), summarize_errors=False,
                           idempotency_key=idempotency_key, creating=True)
        result = _created_or_refused(saved.invoices[0])
        if isinstance(result, RejectedError):
            raise result
        return result

    def create_invoices(self, items: Sequence[tuple[Mapping[str, Any], str]]) -> list[LedgerInvoice | RejectedError]:
        """Create up to ``MAX_BATCH`` invoices in one PUT; one result per item, in order: the invoice, or the
        RejectedError for that element (code ``duplicate_invoice_number`` when its number is taken).

        The request's Idempotency-Key is derived from the items' keys, so resending the same batch replays.
        A whole-request failure raises as ``create_invoice`` does (UncertainOutcomeError when it may have
        landed: look every item up before resending any).
        """
        if not 1 <= len(items) <= MAX_BATCH:
            raise ValueError(f"a Xero batch holds 1-{MAX_BATCH} invoices")
        try:
            invoices = [_sdk_invoice(payload) for payload, _ in items]
        except (KeyError, ValueError) as exc:
            raise ValueError(f"not a Xero invoice payload: {exc}") from exc
        key = "co-batch-" + hashlib.sha256("|".join(key for _, key in items).encode()).hexdigest()[:48]
        saved = self._call("create_invoices", "create_invoices", Invoices(invoices=invoices), summarize_errors=False,
                           idempotency_key=key, creating=True)
        answered = saved.invoices or []
        numbers = [payload.get("InvoiceNumber") for payload, _ in items]
        if [created.invoice_number for created in answered] != numbers:
            raise UncertainOutcomeError(f"Xero answered {len(answered)} elements for {len(items)} sent, or out of "
                                        "order: look each one up", system=SYSTEM, operation="create_invoices")
        return [_created_or_refused(created) for created in answered]

    def find_invoices(self, doc_numbers: Sequence[str]) -> list[LedgerInvoice]:
        """Sales invoices (not deleted) whose InvoiceNumber is exactly one of ``doc_numbers``, 25 per ``where`` query.

        ``where`` rather than ``InvoiceNumbers=``: that parameter is comma-separated, and a number may hold a comma.
        """
        wanted = list(dict.fromkeys(d for d in doc_numbers if d))
        found: list[LedgerInvoice] = []
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start:start + LOOKUP_CHUNK]
            page = self._call("find_invoices", "get_invoices", where=_where_equals("InvoiceNumber", chunk))
            found += [_ledger_invoice(inv) for inv in page.invoices or []
                      if inv.invoice_number in chunk and _is_sale(inv) and _status(inv) != "DELETED"]
        return found

    def list_invoices(self) -> Iterator[LedgerInvoice]:
        """Every sales invoice of the organisation, ``page_size`` per page."""
        page = 1
        while True:
            answer = self._call("list_invoices", "get_invoices", where='Type=="ACCREC"', page=page,
                                page_size=self.page_size)
            invoices = answer.invoices or []
            yield from (_ledger_invoice(inv) for inv in invoices)
            if len(invoices) < self.page_size:
                return
            page += 1

    # Corrections (workorders.ports.CorrectingLedger): amend, void and credit an invoice already sent.

    def read_invoice(self, ledger_id: str) -> LedgerInvoice | None:
        """The invoice as Xero holds it now (AmountDue as ``balance``, Status as ``status``); None when Xero
        answers 404 for the id."""
        found = self._sdk_read("read_invoice", "get_invoice", ledger_id)
        return _ledger_invoice(found.invoices[0]) if found and found.invoices else None

    def update_invoice(self, ledger_id: str, payload: Mapping[str, Any], *, idempotency_key: str) -> LedgerInvoice:
        """POST ``payload`` (``create_invoice``'s shape) to ``/Invoices/{ledger_id}``: its lines, amounts, contact,
        dates and reference replace the invoice's; the InvoiceNumber is not sent, so the number stays.

        Xero takes this only for an invoice with no payment or credit note allocated and not PAID, VOIDED or
        DELETED; otherwise RejectedError with Xero's message ("This document cannot be edited as it has a
        payment or credit note allocated to it.", "Invoice not of valid status for modification."). Xero keeps
        no version token, so there is nothing to re-read: a second writer's change is simply replaced.
        A lost answer is an UncertainOutcomeError: read the invoice before sending again.
        """
        _checked_key(idempotency_key)
        try:
            invoice = _sdk_invoice({k: v for k, v in payload.items() if k not in ("InvoiceNumber", "InvoiceID")})
        except (KeyError, ValueError) as exc:
            raise ValueError(f"not a Xero invoice payload: {exc}") from exc
        invoice.invoice_id = ledger_id
        saved = self._call("update_invoice", "update_invoice", ledger_id, Invoices(invoices=[invoice]),
                           idempotency_key=idempotency_key, creating=True)
        return _ledger_invoice(saved.invoices[0])

    def void_invoice(self, ledger_id: str, *, idempotency_key: str) -> LedgerInvoice:
        """Set the invoice's Status to VOIDED (Xero voids an AUTHORISED invoice with nothing paid or credited on
        it; its number stays and AmountDue becomes 0). An invoice already VOIDED is answered as it is, so a
        repeated void (after a lost answer, or beyond Xero's 6 minutes of key replay) changes nothing; a refusal
        is a RejectedError with Xero's message, an unknown id one with code ``not_found``."""
        _checked_key(idempotency_key)
        current = self.read_invoice(ledger_id)
        if current is None:
            raise RejectedError(f"Xero has no invoice {ledger_id}", code="not_found", system=SYSTEM,
                                operation="void_invoice")
        if current.status == "VOIDED":
            return current
        saved = self._call("void_invoice", "update_invoice", ledger_id,
                           Invoices(invoices=[Invoice(invoice_id=ledger_id, status="VOIDED")]),
                           idempotency_key=idempotency_key, creating=True)
        return _ledger_invoice(saved.invoices[0])

    def create_credit_note(self, payload: Mapping[str, Any], *, idempotency_key: str,
                           against: str | None = None) -> LedgerInvoice:
        """Create the ACCRECCREDIT credit note ``payload`` (``mappings.xero.to_xero_credit_note``, AUTHORISED) with
        ``Idempotency-Key: idempotency_key``; then, when ``against`` names an AUTHORISED invoice of the same
        contact and currency that still owes at least the credit's total, allocate the whole credit to it
        (PUT /CreditNotes/{id}/Allocations, its own key derived from this one). Otherwise the credit stays the
        customer's, unallocated. Answers with the credit note as it then stands (RemainingCredit as balance).

        Safe to call again with the same key after any failure: Xero replays the create for 6 minutes; later,
        the number it then refuses as taken is looked up, and the credit note found is taken as this one when
        its contact, currency and amounts are the payload's (else the refusal stands, code
        ``duplicate_credit_note_number``). The allocation is sent only when the credit note has none to
        ``against`` yet, so it is never made twice.
        """
        _checked_key(idempotency_key)
        if payload.get("CreditNoteID"):
            raise ValueError("create_credit_note creates; the payload must not carry a CreditNoteID")
        try:
            credit = _sdk_credit_note(payload)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"not a Xero credit note payload: {exc}") from exc
        saved = self._call("create_credit_note", "create_credit_notes", CreditNotes(credit_notes=[credit]),
                           summarize_errors=False, idempotency_key=idempotency_key, creating=True)
        created = saved.credit_notes[0]
        if created.has_errors or created.validation_errors:
            created = self._credit_made_before(payload, _credit_refusal(created))
        if not against:
            return _ledger_credit(created)
        return _ledger_credit(self._allocated(str(created.credit_note_id), against, idempotency_key))

    def find_credit_notes(self, doc_numbers: Sequence[str]) -> list[LedgerInvoice]:
        """Sales credit notes (not deleted) whose CreditNoteNumber is exactly one of ``doc_numbers``, 25 a query."""
        return [_ledger_credit(credit) for credit in self._credit_notes(doc_numbers)]

    def _credit_notes(self, doc_numbers: Sequence[str]) -> list[CreditNote]:
        wanted = list(dict.fromkeys(d for d in doc_numbers if d))
        found: list[CreditNote] = []
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start:start + LOOKUP_CHUNK]
            page = self._call("find_credit_notes", "get_credit_notes",
                              where=_where_equals("CreditNoteNumber", chunk))
            found += [credit for credit in page.credit_notes or [] if credit.credit_note_number in chunk
                      and _kind(credit) == "ACCRECCREDIT" and _status(credit) != "DELETED"]
        return found

    def _credit_made_before(self, payload: Mapping[str, Any], refusal: RejectedError) -> CreditNote:
        """The credit note an earlier attempt made under this payload's number (see ``create_credit_note``), or
        ``refusal`` raised: a number taken by a credit note that is not this one is a real refusal."""
        if refusal.code != DUPLICATE_CREDIT_NOTE_NUMBER:
            raise refusal
        for credit in self._credit_notes([str(payload.get("CreditNoteNumber") or "")]):
            if _same_credit(credit, payload):
                return credit
        raise refusal

    def _allocated(self, credit_id: str, against: str, idempotency_key: str) -> CreditNote:
        """The credit note ``credit_id``, allocated in full to invoice ``against`` when it may be (and has not
        been), as it stands afterwards."""
        credit = self._sdk_read("create_credit_note", "get_credit_note", credit_id).credit_notes[0]
        if any(allocation.invoice and str(allocation.invoice.invoice_id) == against
               for allocation in credit.allocations or []):
            return credit  # allocated by an earlier attempt: never twice
        total = _money(credit.total)
        if _status(credit) != "AUTHORISED" or total <= 0 or _money(credit.remaining_credit) < total:
            return credit  # not approved, or already used elsewhere: it stays the customer's credit
        found = self._sdk_read("create_credit_note", "get_invoice", against)
        invoice = found.invoices[0] if found and found.invoices else None
        if (invoice is None or _status(invoice) != "AUTHORISED" or _money(invoice.amount_due) < total
                or str(invoice.contact.contact_id) != str(credit.contact.contact_id)
                or _currency(invoice) != _currency(credit)):
            return credit  # paid, part-paid below the credit, voided or someone else's: the customer's credit
        allocation = Allocation(invoice=Invoice(invoice_id=against), amount=total,
                                date=credit.date or datetime.now(UTC).date())
        self._call("create_credit_note", "create_credit_note_allocation", credit_id,
                   Allocations(allocations=[allocation]), idempotency_key=_step_key(idempotency_key, "allocate"),
                   creating=True)
        return self._sdk_read("create_credit_note", "get_credit_note", credit_id).credit_notes[0]

    def _sdk_read(self, operation: str, method: str, ident: str) -> Any:
        """``method(ident)``'s answer, or None when Xero answers 404 (no such document)."""
        try:
            return self._call(operation, method, ident)
        except FatalError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    # Evidence and e-mail (connectors.xero_attachments); the push step's push_evidence calls these.
    max_attachment_bytes = xero_attachments.MAX_FILE_BYTES

    def attach_file(self, ledger_id: str, *, file_name: str, content_type: str, data: bytes) -> str:
        """Attach ``data`` to invoice ``ledger_id`` as ``file_name``; its AttachmentID."""
        return xero_attachments.attach_file(self._call, ledger_id, file_name=file_name, content_type=content_type,
                                            data=data)

    def attachment_names(self, ledger_id: str) -> list[str]:
        """File names already attached to invoice ``ledger_id`` (looked up before any resend)."""
        return xero_attachments.attachment_names(self._call, ledger_id)

    def send_invoice(self, ledger_id: str, *, email: str) -> None:
        """E-mail invoice ``ledger_id`` to its contact through Xero."""
        xero_attachments.send_invoice(self._call, ledger_id, email=email)

    def invoice_sent(self, ledger_id: str) -> bool:
        """True when Xero already sent invoice ``ledger_id`` to its contact."""
        return xero_attachments.invoice_sent(self._call, ledger_id)

    def read_catalog(self) -> LedgerCatalog:
        """The organisation's items, tax rates, revenue accounts and tracking options (connectors.xero_catalog)."""
        return read_xero_catalog(self._call)


def _created_or_refused(created: Invoice) -> LedgerInvoice | RejectedError:
    if created.has_errors or created.validation_errors:
        messages = [str(v.message) for v in created.validation_errors or []]
        code = DUPLICATE_INVOICE_NUMBER if any("must be unique" in m for m in messages) else "validation_error"
        return RejectedError(messages[0] if messages else "Xero refused the invoice", code=code,
                             detail="; ".join(messages), system=SYSTEM, operation="create_invoice")
    return _ledger_invoice(created)


def _credit_refusal(created: CreditNote) -> RejectedError:
    messages = [str(v.message) for v in created.validation_errors or []]
    code = DUPLICATE_CREDIT_NOTE_NUMBER if any("must be unique" in m for m in messages) else "validation_error"
    return RejectedError(messages[0] if messages else "Xero refused the credit note", code=code,
                         detail="; ".join(messages), system=SYSTEM, operation="create_credit_note")


def _same_credit(credit: CreditNote, payload: Mapping[str, Any]) -> bool:
    """Whether ``credit`` is what ``payload`` would make: same contact, currency and line amounts."""
    lines = sum((Decimal(str(line.get("LineAmount") or 0)) for line in payload.get("LineItems", [])), Decimal(0))
    inclusive = payload.get("LineAmountTypes") == "Inclusive"
    return (str(credit.contact.contact_id) == str(payload["Contact"]["ContactID"])
            and _currency(credit) == str(payload.get("CurrencyCode") or _currency(credit))
            and _money(credit.total if inclusive else credit.sub_total) == _money(lines))


def _status(document: Invoice | CreditNote) -> str:
    return str(getattr(document.status, "value", document.status) or "")


def _kind(document: Invoice | CreditNote) -> str:
    return str(getattr(document.type, "value", document.type) or "")


def _currency(document: Invoice | CreditNote) -> str:
    return str(getattr(document.currency_code, "value", document.currency_code) or "")


def _is_sale(invoice: Invoice) -> bool:
    return _kind(invoice) == "ACCREC"


def _active(contact: Contact) -> bool:
    return str(getattr(contact.contact_status, "value", contact.contact_status) or "ACTIVE") == "ACTIVE"
