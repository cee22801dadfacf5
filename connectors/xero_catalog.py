"""Xero's lists a mapping may name (Items, TaxRates, revenue Accounts, TrackingCategories), on xero-python.

Used by ``connectors.xero.XeroLedger.read_catalog``, which passes its own ``_call`` so every error is typed by
``xero_errors.translate_xero_error``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.ledger_catalog import LedgerCatalog

Call = Callable[..., Any]
ACTIVE = "ACTIVE"
REVENUE = "REVENUE"
"""The account Class whose accounts take a sales invoice line's income (Xero's Accounts reference: Class)."""


def read_xero_catalog(call: Call) -> LedgerCatalog:
    """Four reads: items by ItemCode, tax rates by TaxType, revenue accounts by Code, tracking "Category/Option".

    None of these endpoints pages (Xero returns every element), and archived or deleted entries are left out:
    Xero refuses them on a new invoice.
    """
    items = call("read_catalog Items", "get_items").items or []
    rates = [rate for rate in call("read_catalog TaxRates", "get_tax_rates").tax_rates or []
             if _text(rate.status) == ACTIVE and rate.can_apply_to_revenue is not False and rate.tax_type]
    accounts = [account for account in call("read_catalog Accounts", "get_accounts").accounts or []
                if _text(account.status) == ACTIVE and _text(account._class) == REVENUE and account.code]
    answer = call("read_catalog TrackingCategories", "get_tracking_categories")
    categories = [category for category in answer.tracking_categories or [] if _text(category.status) == ACTIVE]
    return LedgerCatalog(
        ledger="xero",
        items={str(item.code): str(item.name or item.code) for item in items if item.code},
        tax_codes={str(rate.tax_type): _rate_name(rate) for rate in rates},
        tax_code_rates={str(rate.tax_type): percent for rate in rates
                        if (percent := _decimal(rate.effective_rate)) is not None},
        accounts={str(account.code): str(account.name or account.code) for account in accounts},
        tracking={f"{category.name}/{option.name}": f"{category.name}: {option.name}"
                  for category in categories for option in category.options or []
                  if _text(option.status) == ACTIVE and option.name},
        classes=None, departments=None, terms=None,  # Xero tracks with tracking categories; terms are per contact
    )


def _text(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _rate_name(rate: Any) -> str:
    percent = _decimal(rate.display_tax_rate if rate.display_tax_rate is not None else rate.effective_rate)
    name = str(rate.name or rate.tax_type)
    return f"{name} ({percent.normalize():f}%)" if percent is not None and "%" not in name else name


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None
