"""Xero ledger on the xero-python SDK (15.2.0); every SDK and urllib3 error is typed in ``xero_errors.translate_xero_error``."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import urllib3
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import (Address, Contact, Contacts, CurrencyCode, Invoice, Invoices,
                                           LineAmountTypes, LineItem, LineItemTracking)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import HTTPStatusException

from connectors import xero_attachments
from connectors.ledger_catalog import LedgerCatalog
from connectors.errors import RejectedError, UncertainOutcomeError
from connectors.oauth import TokenProvider
from connectors.xero_catalog import read_xero_catalog
from connectors.xero_errors import SYSTEM, translate_xero_error

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LOOKUP_CHUNK = 25
DUPLICATE_INVOICE_NUMBER = "duplicate_invoice_number"
MAX_BATCH = 50  # Xero: "we recommend you … batch elements in bundles of up to 50" (no hard cap; ledgers.md §2.1)
_CONFIGURATION_LOCK = threading.Lock()


@dataclass(frozen=True)
class LedgerInvoice:
    """Xero's own figures: SubTotal (before tax), TotalTax and Total; with Inclusive lines the lines add up to
    Total, not SubTotal (Xero: "SubTotal: Total of invoice excluding taxes")."""

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
    return LedgerInvoice(
        ledger_id=str(invoice.invoice_id), doc_number=invoice.invoice_number or "",
        subtotal=_money(invoice.sub_total), tax=_money(invoice.total_tax), total=_money(invoice.total),
        customer_ref=str(invoice.contact.contact_id) if invoice.contact else "",
        status=str(getattr(invoice.status, "value", invoice.status) or ""),
        currency=str(getattr(invoice.currency_code, "value", invoice.currency_code) or ""),
        balance=_money(invoice.amount_due) if invoice.amount_due is not None else None,
    )


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def _address(kind: str, fields: Mapping[str, str]) -> Address:
    return Address(address_type=kind, address_line1=fields.get("AddressLine1"), address_line2=fields.get("AddressLine2"),
                   city=fields.get("City"), region=fields.get("Region"), postal_code=fields.get("PostalCode"),
                   country=fields.get("Country"))


def _sdk_invoice(payload: Mapping[str, Any]) -> Invoice:
    """The SDK model for a ``mappings.xero`` payload (SDK models validate enums client-side)."""
    lines = [LineItem(description=line.get("Description"), quantity=line.get("Quantity"),
                      unit_amount=line.get("UnitAmount"), item_code=line.get("ItemCode"),
                      account_code=line.get("AccountCode"), tax_type=line.get("TaxType"),
                      line_amount=line.get("LineAmount"),
                      tracking=[LineItemTracking(name=t["Name"], option=t["Option"]) for t in line["Tracking"]]
                      if line.get("Tracking") else None)
             for line in payload.get("LineItems", [])]
    return Invoice(type=payload.get("Type", "ACCREC"), contact=Contact(contact_id=payload["Contact"]["ContactID"]),
                   invoice_number=payload.get("InvoiceNumber"), reference=payload.get("Reference"),
                   date=payload.get("Date"), due_date=payload.get("DueDate"), status=payload.get("Status"),
                   line_amount_types=LineAmountTypes(payload.get("LineAmountTypes", "Exclusive")),
                   currency_code=CurrencyCode(payload["CurrencyCode"]) if payload.get("CurrencyCode") else None,
                   line_items=lines)


class XeroLedger:
    """One Xero organisation (tenant) through xero-python; satisfies ``workorders.ports.Ledger``.

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
        if not idempotency_key or len(idempotency_key) > 128:
            raise ValueError("Xero Idempotency-Key must be 1-128 characters")
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


def _status(invoice: Invoice) -> str:
    return str(getattr(invoice.status, "value", invoice.status) or "")


def _is_sale(invoice: Invoice) -> bool:
    return str(getattr(invoice.type, "value", invoice.type) or "") == "ACCREC"


def _active(contact: Contact) -> bool:
    return str(getattr(contact.contact_status, "value", contact.contact_status) or "ACTIVE") == "ACTIVE"
