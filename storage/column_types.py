"""Column types that keep the core's promises in every database: aware UTC datetimes, exact money, JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

CENT = Decimal("0.01")
MONEY_LIMIT = Decimal("1e12")
"""Numeric(14, 2) holds twelve digits before the point; refusing more keeps SQLite's REAL storage exact."""


class UtcDateTime(sa.TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that refuses naive values and always reads back aware UTC.

    SQLite keeps no offset: values are converted to UTC before they are written, and marked UTC when read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"the store keeps aware datetimes only, got naive {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(sa.TypeDecorator[Decimal]):
    """``Numeric(14, 2)``: a Decimal goes in, a Decimal comes out; a float is refused.

    PostgreSQL stores NUMERIC exactly. SQLite gives the column NUMERIC affinity and keeps a REAL, which is
    exact for the at most fourteen significant digits allowed here, so the value is rebuilt from its
    shortest representation rather than trusted as a float.
    """

    impl = sa.Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        # SQLite has no decimal type: take its number as it comes and rebuild the Decimal below.
        return dialect.type_descriptor(sa.Numeric(14, 2, asdecimal=dialect.name != "sqlite"))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, (float, bool)) or not isinstance(value, (Decimal, int)):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        amount = Decimal(value)
        if amount != amount.quantize(CENT) or abs(amount) >= MONEY_LIMIT:
            raise ValueError(f"{amount} does not fit Numeric(14, 2)")
        return amount.quantize(CENT)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON everywhere, JSONB on PostgreSQL (indexable, compact, keys deduplicated)."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def id_type() -> sa.types.TypeEngine[int]:
    """A growing surrogate key: BIGINT on PostgreSQL, INTEGER on SQLite (its rowid alias autoincrements)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")
