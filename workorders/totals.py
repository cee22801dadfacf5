"""Invoice totals compared like with like: lines with lines, tax with tax, total with total, per currency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from workorders.drafts import InvoiceDraft
from workorders.money import round_money

__all__ = ["CurrencyTotals", "LedgerTotals", "TotalsFinding", "compare_totals", "sent_amount", "expected_tax", "sum_by_currency", "tax_difference"]


class LedgerTotals(Protocol):
    """What a ledger says an invoice adds up to (``workorders.ports.LedgerInvoice`` has these)."""

    @property
    def subtotal(self) -> Decimal: ...

    @property
    def tax(self) -> Decimal: ...

    @property
    def total(self) -> Decimal: ...

    @property
    def currency(self) -> str: ...


@dataclass(frozen=True)
class TotalsFinding:
    kind: str  # amount_mismatch | currency_mismatch | tax_changed_in_ledger
    expected: str
    found: str


def sent_amount(invoice: LedgerTotals, *, tax_inclusive: bool) -> Decimal:
    """The ledger figure that a draft's sum of lines must equal.

    Lines exclusive of tax (QBO always; Xero Exclusive and NoTax) add up to the ledger's subtotal. Lines
    inclusive of tax (Xero Inclusive) add up to its total: Xero takes the tax out of them, so its SubTotal
    is smaller than anything the draft says.
    """
    return invoice.total if tax_inclusive else invoice.subtotal


def compare_totals(
    lines_total: Decimal, currency: str, invoice: LedgerTotals, *, tax_inclusive: bool,
    recorded_tax: Decimal | None = None,
) -> list[TotalsFinding]:
    """Every way the ledger's invoice differs from what was sent and what was recorded when it was created.

    ``recorded_tax`` is the tax the ledger computed when it answered the create; a different tax now means
    someone changed the invoice (or its tax settings) in the ledger. A ledger that names no currency (an
    older read) is not held against the draft.
    """
    findings: list[TotalsFinding] = []
    found = sent_amount(invoice, tax_inclusive=tax_inclusive)
    if found != lines_total:
        findings.append(TotalsFinding("amount_mismatch", str(lines_total), str(found)))
    if invoice.currency and currency and invoice.currency != currency:
        findings.append(TotalsFinding("currency_mismatch", currency, invoice.currency))
    if recorded_tax is not None and invoice.tax != recorded_tax:
        findings.append(TotalsFinding("tax_changed_in_ledger", str(recorded_tax), str(invoice.tax)))
    return findings


def tax_difference(draft: InvoiceDraft, ledger_tax: Decimal, *, tolerance: Decimal) -> Decimal | None:
    """How far the ledger's tax is from the source's, when that is beyond ``tolerance``; else None.

    A source that reported no tax is not compared: nothing says what it expected.
    """
    if draft.source_tax is None:
        return None
    difference = ledger_tax - draft.source_tax
    return difference if abs(difference) > tolerance else None


def expected_tax(draft: InvoiceDraft, percents: Mapping[str, Decimal], *, tax_inclusive: bool) -> Decimal | None:
    """The tax a ledger would compute from each line's tax code rate (a percentage), rounded per line; None
    when a taxed line's code has no known rate (QBO's Automated Sales Tax picks it from the address only on
    posting). An estimate: it is shown before posting, and the ledger's own figure is what is kept."""
    total = Decimal("0.00")
    for line in draft.lines:
        percent = percents.get(line.tax_code)
        if percent is None:
            if line.taxable:
                return None
            continue
        rate = percent / 100
        tax = line.amount * rate / (1 + rate) if tax_inclusive else line.amount * rate
        total += round_money(tax)
    return total


@dataclass
class CurrencyTotals:
    """Subtotal, tax and total of some invoices in one currency; ``tax_known`` is False while any lacks it."""

    currency: str
    invoices: int = 0
    subtotal: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")
    tax_known: bool = True

    def as_dict(self) -> dict[str, object]:
        return {"currency": self.currency, "invoices": self.invoices, "subtotal": str(self.subtotal),
                "tax": str(self.tax) if self.tax_known else None, "total": str(self.total) if self.tax_known else None}


def sum_by_currency(rows: Iterable[tuple[str, Decimal, Decimal | None, Decimal | None]]) -> list[CurrencyTotals]:
    """``(currency, subtotal, tax, total)`` rows summed per currency, never across: one entry each, by code."""
    sums: dict[str, CurrencyTotals] = defaultdict(lambda: CurrencyTotals(""))
    for currency, subtotal, tax, total in rows:
        entry = sums[currency]
        entry.currency = currency
        entry.invoices += 1
        entry.subtotal += subtotal
        if tax is None or total is None:
            entry.tax_known = False
        else:
            entry.tax += tax
            entry.total += total
    return [sums[code] for code in sorted(sums)]
