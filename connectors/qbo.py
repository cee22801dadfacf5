"""QuickBooks Online ledger on the python-quickbooks SDK; every SDK and requests error is typed in ``_translate``."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from quickbooks import QuickBooks
from quickbooks import exceptions as qbx
from quickbooks.objects.base import Address, EmailAddress
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.utils import build_choose_clause
from urllib3.exceptions import NewConnectionError

from connectors import qbo_attachments
from connectors.ledger_catalog import LedgerCatalog
from connectors.qbo_catalog import read_qbo_catalog
from connectors.errors import (AuthError, ConnectorError, FatalError, RejectedError, RetriableError,
                               UncertainOutcomeError, certificate_error)
from connectors.oauth import TokenProvider
from connectors.qbo_session import BearerSession

SYSTEM = "quickbooks"
THROTTLE_WAIT = 60.0  # Intuit: "wait 60 seconds before retrying"; no Retry-After is sent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_BATCH = 30  # QBO: at most 30 items per batch request (ledgers.md §1.1)
CUSTOMER_PAGE = 1000  # QBO's MAXRESULTS cap; Xero's pageSize cap is the same
MAX_REQUEST_ID = 50  # "maximum length of 50 characters" (ledgers.md §1.3)
MAX_PRIVATE_NOTE, MAX_CUSTOMER_MEMO = 4000, 1000  # Intuit's Invoice reference; the sandbox holds CreditMemo to them
STALE = "5010"  # "Stale Object Error": the SyncToken sent is not the current one (ledgers.md §1.2)
NOT_FOUND = "610"  # "Object Not Found" (ledgers.md §1.2)
T = TypeVar("T")


@dataclass(frozen=True)
class LedgerInvoice:
    """An Invoice, or a CreditMemo in the same fields (both are QBO sales forms with the same totals and Balance)."""

    ledger_id: str
    doc_number: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    customer_ref: str
    currency: str = ""
    balance: Decimal | None = None
    """Invoice.Balance: what is still owed, TotalAmt until a payment is applied (Intuit's Invoice reference)."""
    status: str = ""
    """QBO invoices have no status field: "VOIDED" is read from what a void leaves (``_voided``), else ""."""


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection was refused or never opened, so the request cannot have taken effect."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, NewConnectionError)


def _translate(exc: Exception, *, operation: str, status: int | None = None, creating: bool = False,
               secret: str = "") -> ConnectorError:
    """The one place SDK and requests errors become ours.

    ``status`` is the HTTP status of the failed call if one came back; ``creating`` marks a write (an invoice
    or credit memo create, an update, a void), where a timeout, dropped connection, 5xx, or an unreadable 2xx
    answer means it may have taken effect: UncertainOutcomeError. ``secret`` (the access token) is scrubbed
    from every message.
    """
    def scrub(text: Any) -> str:
        text = str(text or "")
        return (text.replace(secret, "***") if secret else text)[:1000]

    where = {"system": SYSTEM, "operation": operation}
    unanswered = UncertainOutcomeError if creating else RetriableError
    if isinstance(exc, ConnectorError):
        return exc
    if (refused := certificate_error(exc)) is not None:  # no retry mends a certificate: say so once
        return FatalError(f"TLS certificate does not verify: {refused.verify_message}", code="tls", **where)
    if isinstance(exc, requests.exceptions.SSLError):
        return FatalError(f"TLS failure: {scrub(exc)}", code="tls", **where)
    if isinstance(exc, requests.ConnectionError) and _never_sent(exc):
        return RetriableError(f"cannot connect: {scrub(exc)}", **where)
    if isinstance(exc, (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return unanswered(f"no answer ({type(exc).__name__}): {scrub(exc)}", **where)
    if isinstance(exc, requests.RequestException):
        return FatalError(f"request failed: {scrub(exc)}", **where)
    unreadable = UncertainOutcomeError if creating and status is not None and 200 <= status < 300 else FatalError
    if not isinstance(exc, qbx.QuickbooksException):
        return unreadable(f"unexpected {type(exc).__name__}: {scrub(exc)}", **where)

    message, detail, code = scrub(exc.message), scrub(exc.detail), str(exc.error_code or "")
    match = re.search(r"status code '(\d+)'", message)
    status = int(match.group(1)) if match else status
    if status in (401, 403) or isinstance(exc, qbx.AuthorizationException):
        return AuthError(f"QuickBooks refused the credentials ({status or code})", code=code, detail=detail, **where)
    if status == 429 or code == "3001" or "ThrottleExceeded" in message + detail:
        return RetriableError("QuickBooks throttled the request", retry_after=THROTTLE_WAIT, code=code or "3001",
                              detail=detail or message, **where)
    if (status or 0) >= 500 or isinstance(exc, qbx.SevereException):
        return unanswered(f"QuickBooks server error ({status or code}): {message}", code=code, detail=detail, **where)
    if "Error reading json response" in message or code == "10000":
        return unreadable(f"unexpected answer ({status}): {message}", code=code, detail=detail, **where)
    if isinstance(exc, qbx.UnsupportedException) or not code:
        return FatalError(f"{message}", code=code, detail=detail, **where)
    return RejectedError(message, code=code, detail=detail, **where)


class QuickBooksLedger:
    """One QBO company (realm) through python-quickbooks; satisfies ``workorders.ports.CorrectingLedger``.

    ``base_url`` is the API root, e.g. ``https://quickbooks.api.intuit.com/v3`` or
    ``http://127.0.0.1:PORT/v3`` for the sandbox. Every method raises only ``connectors.errors`` types.
    The bearer token is a fixed ``access_token`` or comes from ``token_provider`` before every call; a call
    answered 401 asks the provider once for a fresh token and is sent once more (see ledger_oauth.TokenProvider).
    """

    name = "quickbooks"
    max_batch = MAX_BATCH  # the port's batch size: push_batch sends a claim of several in one batch call

    def __init__(self, *, base_url: str, realm_id: str, access_token: str = "", minorversion: int = 75,
                 timeout: float = 30.0, page_size: int = 100, token_provider: TokenProvider | None = None,
                 ca_file: str | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if parts.scheme == "http" and parts.hostname not in LOOPBACK:
            raise ValueError("http:// is only allowed for a loopback sandbox; use https://")
        if not realm_id or not (access_token or token_provider):
            raise ValueError("realm_id and an access_token or token_provider are required")
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be 1..1000 (QBO's MAXRESULTS limit)")
        self.realm_id, self.page_size = realm_id, page_size
        self._token, self._provider = access_token, token_provider
        self._session = BearerSession(access_token, timeout)
        self._session.verify = ca_file or True  # always verified; ca_file: a private CA instead of certifi's
        self._qb = QuickBooks(company_id=realm_id, minorversion=minorversion, use_decimal=True)
        self._qb.api_url_v3 = base_url.rstrip("/")
        self._qb.session = self._session

    def __repr__(self) -> str:
        return f"QuickBooksLedger(realm_id={self.realm_id!r}, base_url={self._qb.api_url_v3!r})"

    def close(self) -> None:
        """Release pooled HTTP connections; the ledger may still be used afterwards (it reconnects)."""
        self._session.close()

    def _call(self, operation: str, action: Callable[[], T], *, creating: bool = False) -> T:
        refused: str | None = None
        while True:
            token = self._provider(refused) if self._provider else self._token
            self._token = token
            self._session.use_token(token)
            self._session.forget_status()
            try:
                return action()
            except Exception as exc:
                error = _translate(exc, operation=operation, status=self._session.last_status, creating=creating,
                                   secret=token)
                if refused is None and self._provider and self._session.last_status == 401:
                    refused = token  # a 401 was not processed: safe to send again, once, with a fresh token
                    continue
                raise error from exc

    def find_customers(self, *, name: str, email: str | None) -> list[str]:
        """Ids of active customers whose primary email is ``email`` (any case), else whose DisplayName is ``name``."""
        if email:
            found = self._call("find_customers", lambda: Customer.filter(PrimaryEmailAddr=email, qb=self._qb))
            ids = [c.Id for c in found
                   if c.PrimaryEmailAddr and str(c.PrimaryEmailAddr.Address).casefold() == email.casefold()]
            if ids:
                return ids
        found = self._call("find_customers", lambda: Customer.filter(DisplayName=name, qb=self._qb))
        return [c.Id for c in found if c.DisplayName == name]

    def list_customers(self, *, page: int = 1) -> list[tuple[str, str, str | None]]:
        """One page of ``(id, DisplayName, primary email)`` of active customers, ``CUSTOMER_PAGE`` a page, by Id."""
        found = self._call("list_customers", lambda: Customer.where(
            "", order_by="Id", start_position=(page - 1) * CUSTOMER_PAGE + 1, max_results=CUSTOMER_PAGE, qb=self._qb))
        return [(str(c.Id), c.DisplayName or "",
                 str(c.PrimaryEmailAddr.Address) if c.PrimaryEmailAddr and c.PrimaryEmailAddr.Address else None)
                for c in found]

    def create_customer(self, *, name: str, email: str | None,
                        addresses: Mapping[str, Mapping[str, str]] | None = None) -> str:
        """Create a customer with DisplayName ``name`` and ``addresses`` (``mappings.qbo.customer_addresses``:
        BillAddr and ShipAddr as QBO PhysicalAddress JSON); a taken name → RejectedError code 6240."""
        customer = Customer()
        customer.DisplayName = name
        if email:
            customer.PrimaryEmailAddr = EmailAddress()
            customer.PrimaryEmailAddr.Address = email
        for field, address in (addresses or {}).items():
            setattr(customer, field, Address.from_json(dict(address)))
        saved = self._call("create_customer", lambda: customer.save(qb=self._qb))
        return str(saved.Id)

    def create_invoice(self, payload: Mapping[str, Any], *, idempotency_key: str) -> LedgerInvoice:
        """Create the invoice ``payload`` (mappings.qbo) with QBO ``requestid=idempotency_key``.

        A repeated key gets QBO's replay of the first answer (same id). A timeout, dropped connection or
        5xx after sending → UncertainOutcomeError: look the doc number up with ``find_invoices`` first.
        """
        _check_request_id(idempotency_key)
        if payload.get("Id"):
            raise ValueError("create_invoice creates; the payload must not carry an Id")
        invoice = Invoice.from_json(dict(payload))
        saved = self._call("create_invoice", lambda: invoice.save(qb=self._qb, request_id=idempotency_key),
                           creating=True)
        return _ledger_invoice(saved)

    def create_invoices(self, items: Sequence[tuple[Mapping[str, Any], str]]) -> list[LedgerInvoice | RejectedError]:
        """Create up to ``MAX_BATCH`` invoices in one batch call; one result per item, in order: the invoice,
        or the RejectedError for that item (its Fault's code and message, e.g. 6140 for a taken DocNumber).

        The SDK's ``batch_create`` sends no requestid and random bIds, so this builds the request itself,
        numbers the bIds 0..n-1 and posts it through the SDK with ``requestid`` derived from the items'
        keys: a resent batch is replayed by QBO and its answer still matches. Whole-call failures raise as
        ``create_invoice`` does.
        """
        if not 1 <= len(items) <= MAX_BATCH:
            raise ValueError(f"a QBO batch holds 1-{MAX_BATCH} invoices")
        if any(payload.get("Id") for payload, _ in items):
            raise ValueError("create_invoices creates; no payload may carry an Id")
        # The payloads are already QBO's Invoice JSON: sent as they are, not through the SDK's objects, whose
        # indented, sorted to_json costs more than the rest of the push (30 invoices a call, 10,000 a backlog).
        body = json.dumps({"BatchItemRequest": [{"bId": str(index), "operation": "create", "Invoice": dict(payload)}
                                                for index, (payload, _) in enumerate(items)]}, separators=(",", ":"))
        key = batch_request_id([key for _, key in items])
        url = f"{self._qb.api_url}/company/{self.realm_id}/batch"
        answer = self._call("create_invoices", lambda: self._qb.post(url, body, request_id=key), creating=True)
        by_bid = {str(item.get("bId")): item for item in (answer or {}).get("BatchItemResponse", [])}
        if sorted(by_bid) != sorted(str(index) for index in range(len(items))):
            raise UncertainOutcomeError(f"QuickBooks answered bIds {sorted(by_bid)} for {len(items)} items: look "
                                        "each one up", system=SYSTEM, operation="create_invoices")
        return [_batch_result(by_bid[str(index)], secret=self._token) for index in range(len(items))]

    def find_invoices(self, doc_numbers: Sequence[str]) -> list[LedgerInvoice]:
        """Invoices whose DocNumber is exactly one of ``doc_numbers`` (queried 50 at a time)."""
        return self._find_by_doc_number(Invoice, doc_numbers, "find_invoices")

    def _find_by_doc_number(self, entity: type[Invoice] | type[CreditMemo], doc_numbers: Sequence[str],
                            operation: str) -> list[LedgerInvoice]:
        wanted = list(dict.fromkeys(d for d in doc_numbers if d))
        found: list[LedgerInvoice] = []
        for start in range(0, len(wanted), 50):
            clause = build_choose_clause(wanted[start:start + 50], "DocNumber")
            page = self._call(operation, lambda: entity.where(clause, max_results=1000, qb=self._qb))
            # QBO compares strings ignoring case (sandbox.qbo_query); only the exact number is the one asked for.
            found += [_ledger_invoice(doc) for doc in page if doc.DocNumber in wanted]
        return found

    def list_invoices(self) -> Iterator[LedgerInvoice]:
        """Every invoice of the realm in Id order, fetched ``page_size`` at a time."""
        position = 1
        while True:
            page = self._call("list_invoices", lambda: Invoice.where(
                "", order_by="Id", start_position=position, max_results=self.page_size, qb=self._qb))
            yield from (_ledger_invoice(inv) for inv in page)
            if len(page) < self.page_size:
                return
            position += len(page)

    # Corrections (workorders.ports.CorrectingLedger): read, amend, void and credit an invoice already sent.

    def read_invoice(self, ledger_id: str) -> LedgerInvoice | None:
        """Invoice ``ledger_id`` as QBO holds it now (Balance included; "VOIDED" once voided); None when QBO
        answers 610 Object Not Found."""
        found = self._get_invoice(ledger_id, "read_invoice")
        return _ledger_invoice(found) if found is not None else None

    def update_invoice(self, ledger_id: str, payload: Mapping[str, Any], *, idempotency_key: str) -> LedgerInvoice:
        """Put ``payload`` (``mappings.qbo.to_qbo_invoice``) in place of Invoice ``ledger_id``'s fields: a sparse
        update (``sparse: true``, a partial update, ledgers.md §1.5) with the SyncToken just read and
        ``requestid=idempotency_key``.

        The payload's Line array replaces the invoice's lines; a field the payload leaves out keeps the value QBO
        has (sparse), so e-mail status, payments and links are untouched. The body is the payload itself sent
        through the SDK's client, not an SDK ``Invoice``, whose defaults (EmailStatus "NotSet", AllowIPNPayment,
        Deposit 0...) a sparse update would write over what QBO holds. A stale token (5010) is re-read and sent
        once more (``_on_current_token``). QBO lets a paid invoice be edited; the caller never asks it to.
        """
        _check_request_id(idempotency_key)
        if payload.get("Id") or payload.get("SyncToken") is not None:
            raise ValueError("update_invoice sends the Id and the SyncToken it reads; the payload carries neither")

        def update(current: Invoice, request_id: str) -> Invoice:
            body = {**payload, "Id": current.Id, "SyncToken": current.SyncToken, "sparse": True}
            answer = self._qb.update_object("Invoice", json.dumps(body, separators=(",", ":")), request_id=request_id)
            return Invoice.from_json(answer["Invoice"])

        return _ledger_invoice(self._on_current_token("update_invoice", ledger_id, idempotency_key, update))

    def void_invoice(self, ledger_id: str, *, idempotency_key: str) -> LedgerInvoice:
        """Void Invoice ``ledger_id`` (QBO ``operation=void`` with its Id and current SyncToken): its amounts and
        Balance become 0, "Voided" is put before its PrivateNote, its number stays; ``requestid=idempotency_key``.

        An invoice that already reads as voided is answered as it is, with no call: a replay, whatever QBO does
        with a second void ([?] undocumented; the sandbox refuses it with 6000). One with a payment applied is
        a RejectedError ([?] the sandbox's 6000, sandbox.qbo_credits VOID PAID). The SDK's ``Invoice.void``
        takes no request id, so the same request (its URL, body and ``operation=void``) is posted through the
        SDK's client with one.
        """
        _check_request_id(idempotency_key)

        def void(current: Invoice, request_id: str) -> Invoice:
            if _voided(_money(current.TotalAmt), current.PrivateNote):
                return current
            url = f"{self._qb.api_url}/company/{self.realm_id}/invoice"
            body = json.dumps({"Id": current.Id, "SyncToken": current.SyncToken})
            answer = self._qb.post(url, body, params={"operation": "void"}, request_id=request_id)
            return Invoice.from_json(answer["Invoice"])

        return _ledger_invoice(self._on_current_token("void_invoice", ledger_id, idempotency_key, void))

    def create_credit_note(self, payload: Mapping[str, Any], *, idempotency_key: str,
                           against: str | None = None) -> LedgerInvoice:
        """Create the CreditMemo ``payload`` (``mappings.qbo.to_qbo_credit_memo``) with ``requestid=idempotency_key``.

        QBO has no allocation on a credit memo: a credit is applied to an invoice through a Payment that links
        both ("a zero-dollar payment, which is the link between the Credit Memo and the Invoice",
        docs.breadwinner.com/quickbooks/applying-credit-to-an-invoice). So the memo is left as the customer's
        credit (its Balance and RemainingCredit are its total), the invoice's Balance does not move, and the
        bookkeeper applies it with the customer's next payment. To say which invoice it credits, ``against``
        (that invoice's ledger id) is read for its DocNumber and "Credit for invoice <DocNumber>" is put before
        the memo's PrivateNote (for the bookkeeper) and its CustomerMemo (for the customer); an unknown
        ``against`` is refused (610) before anything is sent.

        The body is sent as mapped through the SDK's client, not as an SDK ``CreditMemo``, whose defaults would
        add ExchangeRate 0 and zero totals. A timeout or 5xx is UncertainOutcomeError: look the number up with
        ``find_credit_notes`` before resending (a repeated requestid is replayed; whether QBO also refuses a
        repeated credit memo number is [?] unknown, see sandbox.qbo_credits CM DOCNUMBER).
        """
        _check_request_id(idempotency_key)
        if payload.get("Id"):
            raise ValueError("create_credit_note creates; the payload must not carry an Id")
        body = dict(payload)
        if against:
            original = self._get_invoice(against, "create_credit_note")
            if original is None:
                raise RejectedError(f"QuickBooks has no invoice {against} to credit", code=NOT_FOUND,
                                    system=SYSTEM, operation="create_credit_note")
            body = _naming_invoice(body, original.DocNumber or f"Id {against}")
        wire = json.dumps(body, separators=(",", ":"))
        answer = self._call("create_credit_note", lambda: self._qb.create_object(
            "CreditMemo", wire, request_id=idempotency_key), creating=True)
        return _ledger_invoice(CreditMemo.from_json(answer["CreditMemo"]))

    def find_credit_notes(self, doc_numbers: Sequence[str]) -> list[LedgerInvoice]:
        """CreditMemos whose DocNumber is exactly one of ``doc_numbers`` (queried 50 at a time)."""
        return self._find_by_doc_number(CreditMemo, doc_numbers, "find_credit_notes")

    def _get_invoice(self, ledger_id: str, operation: str) -> Invoice | None:
        if not ledger_id.isdigit():
            raise ValueError(f"a QuickBooks Id is a string of digits, got {ledger_id!r}")  # it goes in the URL
        try:
            return self._call(operation, lambda: Invoice.get(ledger_id, qb=self._qb))
        except RejectedError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    def _on_current_token(self, operation: str, ledger_id: str, key: str,
                          write: Callable[[Invoice, str], Invoice]) -> Invoice:
        """Read Invoice ``ledger_id`` and ``write(invoice, requestid)`` on its SyncToken.

        Someone saving between the read and the write makes the token stale (5010): the invoice is read again
        and written once more, under ``retry_request_id(key)``. A second requestid, because QBO "sends the same
        response as it did for the original request" (ledgers.md §1.3), which may be the 5010; derived from
        the key, so a whole call replayed later replays both answers. A second 5010 is a RejectedError.
        """
        for request_id in (key, retry_request_id(key)):
            current = self._get_invoice(ledger_id, operation)
            if current is None:
                raise RejectedError(f"QuickBooks has no invoice {ledger_id}", code=NOT_FOUND, system=SYSTEM,
                                    operation=operation)
            try:
                return self._call(operation, lambda: write(current, request_id), creating=True)
            except RejectedError as exc:
                if exc.code != STALE or request_id != key:
                    raise
        raise AssertionError("unreachable: the second attempt returns or raises")

    # Evidence and e-mail (connectors.qbo_attachments); the push step's push_evidence calls these.
    max_attachment_bytes = qbo_attachments.MAX_FILE_BYTES

    def attach_file(self, ledger_id: str, *, file_name: str, content_type: str, data: bytes) -> str:
        """Attach ``data`` to Invoice ``ledger_id`` (an Attachable upload); the Attachable's id."""
        return qbo_attachments.attach_file(self._qb, self._call, ledger_id, file_name=file_name,
                                           content_type=content_type, data=data)

    def attachment_names(self, ledger_id: str) -> list[str]:
        """File names already attached to Invoice ``ledger_id`` (looked up before any resend)."""
        return qbo_attachments.attachment_names(self._qb, self._call, ledger_id)

    def send_invoice(self, ledger_id: str, *, email: str) -> None:
        """E-mail Invoice ``ledger_id`` to ``email`` through QuickBooks."""
        qbo_attachments.send_invoice(self._qb, self._call, ledger_id, email=email)

    def invoice_sent(self, ledger_id: str) -> bool:
        """True when QuickBooks already e-mailed Invoice ``ledger_id``."""
        return qbo_attachments.invoice_sent(self._qb, self._call, ledger_id)

    def read_catalog(self) -> LedgerCatalog:
        """The realm's items, tax codes, income accounts, classes, departments and terms (connectors.qbo_catalog)."""
        return read_qbo_catalog(self._qb, self._call)


def _check_request_id(key: str) -> None:
    if not key or len(key) > MAX_REQUEST_ID:
        raise ValueError(f"QBO requestid must be 1-{MAX_REQUEST_ID} characters")


def retry_request_id(key: str) -> str:
    """The requestid of the one resend after a stale SyncToken: derived from ``key``, 50 characters at most."""
    return "co-r-" + hashlib.sha256(key.encode()).hexdigest()[:MAX_REQUEST_ID - 5]


def _naming_invoice(body: dict[str, Any], doc_number: str) -> dict[str, Any]:
    """``body`` with "Credit for invoice <doc_number>" before its PrivateNote and CustomerMemo, within QBO's lengths.

    A note that would grow past 4000 loses the start of the memo after the new line, never its end: the
    mapping ends it with the "Closeout {work order} v{version}" trace line."""
    line = f"Credit for invoice {doc_number}"
    note = str(body.get("PrivateNote") or "")
    room = MAX_PRIVATE_NOTE - len(line) - 1
    memo = (body.get("CustomerMemo") or {}).get("value")
    return {**body, "PrivateNote": f"{line}\n{note[-room:]}" if note else line,
            "CustomerMemo": {"value": (f"{line} - {memo}" if memo else line)[:MAX_CUSTOMER_MEMO]}}


BATCH_REQUEST_ID = 36
"""Intuit: "The maximum length of a batch ID is 36 characters, only 10 characters are allowed [per bId] when
RequestID is also specified" (ledgers.md §1.3); a plain requestid may have 50."""


def batch_request_id(keys: Sequence[str]) -> str:
    """The batch's requestid: derived from its items' keys, so a resent batch is the same request; 36 characters."""
    return "co-b-" + hashlib.sha256("|".join(keys).encode()).hexdigest()[:BATCH_REQUEST_ID - 5]


def _batch_result(item: Mapping[str, Any], *, secret: str) -> LedgerInvoice | RejectedError:
    fault = item.get("Fault")
    if fault:
        error = (fault.get("Error") or [{}])[0]
        message = str(error.get("Message") or "QuickBooks refused the invoice").replace(secret, "***")
        return RejectedError(message, code=str(error.get("code") or ""), detail=str(error.get("Detail") or ""),
                             system=SYSTEM, operation="create_invoices")
    return _invoice_from_json(item["Invoice"])  # JSON: the SDK's from_json costs more than the request


def _invoice_from_json(invoice: Mapping[str, Any]) -> LedgerInvoice:
    """QBO's answer read as it is: TotalAmt includes the tax in TxnTaxDetail.TotalTax (Intuit's Invoice
    reference: "TotalAmt … includes the total of all the charges … including tax"), so the subtotal is
    the sum of the sales lines, read from the lines rather than derived, to catch a ledger that disagrees."""
    lines = invoice.get("Line") or []
    subtotal = sum((_money(line.get("Amount")) for line in lines
                    if line.get("DetailType") in ("SalesItemLineDetail", "DiscountLineDetail")), Decimal("0.00"))
    return LedgerInvoice(
        ledger_id=str(invoice.get("Id") or ""), doc_number=invoice.get("DocNumber") or "",
        subtotal=subtotal, tax=_money((invoice.get("TxnTaxDetail") or {}).get("TotalTax")),
        total=_money(invoice.get("TotalAmt")),
        customer_ref=str((invoice.get("CustomerRef") or {}).get("value") or ""),
        currency=str((invoice.get("CurrencyRef") or {}).get("value") or ""),
        balance=_money(invoice["Balance"]) if invoice.get("Balance") is not None else None,
        status=_voided(_money(invoice.get("TotalAmt")), invoice.get("PrivateNote")),
    )


def _voided(total: Decimal, note: str | None) -> str:
    """"VOIDED" for what QBO's void leaves: "all amounts and quantities are zeroed and the string 'Voided' is
    injected into Invoice.PrivateNote, prepended to existing text if present" (Intuit's Invoice reference,
    void operation). Both are needed: a zero invoice with a note that starts with "Voided" is still a void."""
    return "VOIDED" if total == 0 and (note or "").startswith("Voided") else ""


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0)).quantize(Decimal("0.01"))


def _ledger_invoice(invoice: Invoice | CreditMemo) -> LedgerInvoice:
    """The same reading as ``_invoice_from_json`` from the SDK's object (its to_dict costs more than this); a
    CreditMemo reads the same way (its lines, TxnTaxDetail, TotalAmt and Balance are an invoice's)."""
    subtotal = sum((_money(line.Amount) for line in invoice.Line or ()
                    if line.DetailType in ("SalesItemLineDetail", "DiscountLineDetail")), Decimal("0.00"))
    detail = invoice.TxnTaxDetail
    return LedgerInvoice(
        ledger_id=str(invoice.Id), doc_number=invoice.DocNumber or "", subtotal=subtotal,
        tax=_money(detail.TotalTax if detail is not None else None), total=_money(invoice.TotalAmt),
        customer_ref=str(invoice.CustomerRef.value) if invoice.CustomerRef else "",
        currency=str(invoice.CurrencyRef.value or "") if invoice.CurrencyRef else "",
        # The SDK's Invoice starts with Balance 0, so an answer without Balance would read as paid. Intuit's
        # answers always carry it (a read-only field of every Invoice in its reference); if one did not, "paid"
        # is the safe mistake: a paid invoice is credited, never edited.
        balance=_money(invoice.Balance) if invoice.Balance is not None else None,
        status=_voided(_money(invoice.TotalAmt), invoice.PrivateNote),
    )
