"""QuickBooks Online's lists a mapping may name (Item, TaxCode with TaxRate, income Account, Class, Department, Term).

Used by ``connectors.qbo.QuickBooksLedger.read_catalog``, which passes its SDK client and its ``_call`` so every
error is typed by ``qbo._translate``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from quickbooks import QuickBooks
from quickbooks.objects.account import Account
from quickbooks.objects.department import Department
from quickbooks.objects.item import Item
from quickbooks.objects.taxcode import TaxCode
from quickbooks.objects.taxrate import TaxRate
from quickbooks.objects.term import Term
from quickbooks.objects.trackingclass import Class

from connectors.ledger_catalog import LedgerCatalog

Call = Callable[..., Any]
PAGE = 1000  # QBO's MAXRESULTS cap
INCOME_TYPES = {"Income", "Other Income"}
"""Account types an invoice line's income may go to (Intuit's AccountType values of the Revenue classification)."""


def read_qbo_catalog(qb: QuickBooks, call: Call) -> LedgerCatalog:
    """Every active entry of each list, paged ``PAGE`` at a time; seven queries for a small company."""
    rates = {str(rate.Id): _decimal(rate.RateValue) for rate in _every(qb, call, TaxRate)}
    tax_codes = [code for code in _every(qb, call, TaxCode) if code.Active is not False]
    items = [item for item in _every(qb, call, Item) if item.Active is not False and item.Type != "Category"]
    accounts = [account for account in _every(qb, call, Account)
                if account.Active is not False and account.AccountType in INCOME_TYPES]
    return LedgerCatalog(
        ledger="quickbooks",
        items={str(item.Id): _name(item) for item in items},
        tax_codes={str(code.Id): _tax_code_name(code) for code in tax_codes},
        tax_code_rates={str(code.Id): rate for code in tax_codes
                        if (rate := _sales_rate(code, rates)) is not None},
        accounts={str(account.Id): _name(account) for account in accounts},
        classes=_active_names(_every(qb, call, Class)),
        departments=_active_names(_every(qb, call, Department)),
        terms=_active_names(_every(qb, call, Term)),
        tracking=None,  # QBO tracks by Class and Department, which are above
    )


def _every(qb: QuickBooks, call: Call, entity: Any) -> list[Any]:
    found: list[Any] = []
    while True:
        start = len(found) + 1
        page = call(f"read_catalog {entity.qbo_object_name}",
                    lambda: entity.where("", order_by="Id", start_position=start, max_results=PAGE, qb=qb))
        found += page
        if len(page) < PAGE:
            return found


def _name(entry: Any) -> str:
    return str(getattr(entry, "FullyQualifiedName", "") or entry.Name or entry.Id)


def _active_names(entries: Iterable[Any]) -> dict[str, str]:
    return {str(entry.Id): _name(entry) for entry in entries if entry.Active is not False}


def _tax_code_name(code: TaxCode) -> str:
    name, description = str(code.Name or code.Id), str(code.Description or "")
    return f"{name} ({description})" if description and description != name else name


def _sales_rate(code: TaxCode, rates: dict[str, Decimal | None]) -> Decimal | None:
    """The sum of the code's sales rates, or None when it lists none (US TAX / NON) or names an unknown one."""
    details = code.SalesTaxRateList.TaxRateDetail if code.SalesTaxRateList else []
    found = [rates.get(str(detail.TaxRateRef.value)) if detail.TaxRateRef else None for detail in details]
    if not found or any(rate is None for rate in found):
        return None
    return sum(found, Decimal(0))  # type: ignore[arg-type]  # None was ruled out above


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None
