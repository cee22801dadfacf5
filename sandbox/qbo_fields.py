"""Reading the fields of a QBO request: references, numbers, dates and currencies, and the 6000 business Fault."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.qbo_settings import CURRENCY_NAMES, read_settings
from sandbox.qbo_store import RealmView
from sandbox.qbo_wire import QboFault, invalid_reference


def read_ref(value: Any) -> str | None:
    """A reference's id, from ``{"value": id}`` or a bare id; None when it is not set."""
    if isinstance(value, dict):
        value = value.get("value")
    return None if value in (None, "") else str(value)


def read_decimal(value: Any, element: str) -> Decimal | None:
    """A finite number, or None when not set; anything else is QBO's 2010 naming ``element``."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            raise InvalidOperation
        result = Decimal(value)
        if not result.is_finite():
            raise InvalidOperation
        return result
    except InvalidOperation:
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"Property {element} must be a number, not {value!r}", element=element) from None


def read_date(value: Any, element: str) -> str | None:
    """An ISO date (a timestamp's date part), or None when not set; anything else is a 2010."""
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"Property {element} must be a date (YYYY-MM-DD), not {value!r}", element=element) from None


def business_fault(detail: str, element: str = "") -> QboFault:
    """QBO's 6000 Business Validation Error with ``detail``."""
    return QboFault("6000", "A business validation error has occurred while processing your request",
                    f"Business Validation Error: {detail}", element=element)


def read_currency(view: RealmView, data: dict[str, Any], element: str = "CurrencyRef") -> dict[str, str]:
    """The CurrencyRef to store: the home currency unless multicurrency is on (Intuit's Invoice reference:
    CurrencyRef "Applicable if multicurrency is enabled for the company"; mappings.qbo relies on QBO
    refusing it otherwise). The real Fault for a foreign currency without multicurrency is not documented:
    the sandbox answers 2500 Invalid Reference Id, as for any reference it cannot honour."""
    settings = read_settings(view)
    home, code = settings["home_currency"], read_ref(data.get(element))
    if code and code != home and (not settings["multicurrency"] or code not in CURRENCY_NAMES):
        raise invalid_reference("Currency", code, element)
    code = code or home
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}
