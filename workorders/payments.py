"""What the customer has paid on an invoice, as its ledger reports it: unpaid, part-paid, paid or voided."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from workorders.money import round_money

__all__ = ["PaymentReading", "PaymentState", "outstanding_by_currency", "payment_state", "read_payment"]

VOID_STATUSES = frozenset({"VOIDED", "DELETED"})
"""Xero's statuses of an invoice that no longer asks for money (the spec's InvoiceStatus)."""


class PaymentState(StrEnum):
    """Stable codes: they show in the CLI, the case page, the JSON API and the store."""

    unpaid = "unpaid"
    part_paid = "part_paid"
    paid = "paid"
    voided = "voided"


def payment_state(*, total: Decimal, balance: Decimal | None, status: str = "") -> PaymentState | None:
    """The state an invoice's own figures say: None when the ledger gave no balance (nothing can be said).

    ``balance`` is what is still owed (QBO ``Balance``, Xero ``AmountDue``); ``status`` is Xero's invoice status
    ("" from QBO, which has none). A paid Xero invoice says PAID and has nothing due; a zero-total invoice
    has nothing due and was never paid, so it stays unpaid rather than look settled.
    """
    if status.upper() in VOID_STATUSES:
        return PaymentState.voided
    if balance is None:
        return None
    if status.upper() == "PAID" or (balance <= 0 < total):
        return PaymentState.paid
    if balance < total:
        return PaymentState.part_paid
    return PaymentState.unpaid


@dataclass(frozen=True)
class PaymentReading:
    """One pushed invoice's payment state as last read from its ledger."""

    idempotency_key: str
    state: PaymentState
    balance: Decimal
    currency: str


def read_payment(idempotency_key: str, invoice, *, currency: str) -> PaymentReading | None:
    """The reading of a ``workorders.ports.LedgerInvoice`` (None when its ledger says nothing of payments)."""
    balance = getattr(invoice, "balance", None)
    state = payment_state(total=invoice.total, balance=balance, status=str(getattr(invoice, "status", "") or ""))
    if state is None:
        return None
    owed = round_money(balance) if balance is not None and state is not PaymentState.voided else Decimal("0.00")
    return PaymentReading(idempotency_key, state, owed, invoice.currency or currency)


def outstanding_by_currency(readings: Iterable[PaymentReading]) -> tuple[Counter[str], Mapping[str, Decimal]]:
    """How many invoices are in each state, and what is still owed per currency (never summed across them)."""
    counts: Counter[str] = Counter()
    owed: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for reading in readings:
        counts[reading.state.value] += 1
        if reading.state in (PaymentState.unpaid, PaymentState.part_paid):
            owed[reading.currency] += reading.balance
    return counts, dict(sorted(owed.items()))
