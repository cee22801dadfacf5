"""Exact money: Decimal amounts that refuse floats, rounded the way invoices round."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")


def to_decimal(value: Any) -> Decimal:
    """Turn an int, a decimal string or a Decimal into a Decimal; a float is refused.

    A float has already lost the exact value a person typed, so accepting one would hide the loss.
    Sources that really send floats (Jobber) convert with ``Decimal(str(x))`` in their mapping.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, float):
        raise ValueError("money must not be a float; pass a decimal string")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, str)):
        try:
            result = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a number") from exc
    else:
        raise ValueError(f"{type(value).__name__} is not an amount")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return result


def round_money(amount: Decimal) -> Decimal:
    """Round to cents, half up, as QuickBooks and Xero do for line amounts."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


Money = Annotated[Decimal, BeforeValidator(to_decimal), PlainSerializer(lambda d: str(d), return_type=str)]
"""A Decimal field that accepts ints and decimal strings, never floats, and serialises as a string."""

Quantity = Money
