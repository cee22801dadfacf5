"""Totals are compared like with like: lines with the subtotal (or the total when they include tax), per currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from workorders.totals import compare_totals, sum_by_currency


@dataclass(frozen=True)
class Invoice:
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    currency: str = "USD"


TAXED = Invoice(Decimal("100.00"), Decimal("8.25"), Decimal("108.25"))


def test_lines_before_tax_match_the_subtotal_even_when_the_ledger_added_tax():
    assert compare_totals(Decimal("100.00"), "USD", TAXED, tax_inclusive=False) == []


def test_lines_that_include_tax_match_the_total_not_the_subtotal():
    inclusive = Invoice(Decimal("141.74"), Decimal("21.26"), Decimal("163.00"), "NZD")
    assert compare_totals(Decimal("163.00"), "NZD", inclusive, tax_inclusive=True) == []
    [finding] = compare_totals(Decimal("163.00"), "NZD", inclusive, tax_inclusive=False)
    assert (finding.kind, finding.expected, finding.found) == ("amount_mismatch", "163.00", "141.74")


def test_another_currency_and_a_tax_changed_since_creation_are_findings_of_their_own():
    kinds = [f.kind for f in compare_totals(Decimal("100.00"), "CAD", TAXED, tax_inclusive=False,
                                            recorded_tax=Decimal("7.00"))]
    assert kinds == ["currency_mismatch", "tax_changed_in_ledger"]


def test_sums_are_kept_per_currency_and_an_unknown_tax_is_not_shown_as_zero():
    rows = [("USD", Decimal("100.00"), Decimal("8.25"), Decimal("108.25")),
            ("NZD", Decimal("141.74"), Decimal("21.26"), Decimal("163.00")),
            ("USD", Decimal("50.00"), None, None)]
    nzd, usd = sum_by_currency(rows)
    assert (nzd.currency, nzd.total, nzd.tax_known) == ("NZD", Decimal("163.00"), True)
    assert (usd.invoices, usd.subtotal, usd.tax_known, usd.as_dict()["tax"]) == (2, Decimal("150.00"), False, None)
