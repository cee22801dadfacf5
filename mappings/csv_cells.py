"""Reading one CSV job's cells: numbers, date-times and choices, each a value or a problem naming row and column."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from workorders.money import to_decimal

SYNONYMS = {
    "labor": "labour", "parts": "part", "materials": "material", "fees": "fee", "preventative": "preventive",
    "canceled": "cancelled", "complete": "completed", "done": "completed",
}
LARGEST = Decimal(10) ** 12
"""No quantity or price on a job reaches a trillion; a bigger number is a typo, and would overflow exact rounding."""
E = TypeVar("E", bound=StrEnum)


class CellReader:
    """One job's rows, its job-level values, and the problems found; every reader returns None on a problem."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.rows = rows
        self.first_row: int = rows[0]["row"]
        self.job: dict[str, str] = {}
        self.job_row: dict[str, int] = {}
        self.problems: list[dict[str, Any]] = []
        self.zone = ZoneInfo("UTC")

    def problem(self, row: int, column: str, message: str) -> None:
        self.problems.append({"row": row, "column": column, "message": message})

    def job_problem(self, column: str, message: str) -> None:
        """A problem with a job-level value, reported at the row that gave the value."""
        self.problem(self.job_row.get(column, self.first_row), column, message)

    def number(self, row: int, column: str, text: str) -> Decimal | None:
        try:
            value = to_decimal(text) if text else None
        except ValueError:
            self.problem(row, column, f"{text!r} is not a number")
            return None
        if value is not None and abs(value) >= LARGEST:
            self.problem(row, column, f"{text!r} is too large to be an amount on a job")
            return None
        return value

    def moment(self, row: int, column: str, text: str) -> datetime | None:
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text)
            return (value if value.tzinfo else value.replace(tzinfo=self.zone)).astimezone(UTC)
        except (ValueError, OverflowError):
            self.problem(row, column, f"{text!r} is not an ISO 8601 date-time (like 2026-11-03 14:30)")
            return None

    def choice(self, row: int, column: str, text: str, enum: type[E]) -> E | None:
        key = re.sub(r"[\s-]+", "_", text.strip().lower())
        try:
            return enum(SYNONYMS.get(key, key))
        except ValueError:
            self.problem(row, column, f"{text!r} is not one of {', '.join(e.value for e in enum)}")
            return None

    def job_number(self, column: str) -> Decimal | None:
        return self.number(self.job_row.get(column, self.first_row), column, self.job.get(column, ""))

    def job_moment(self, column: str) -> datetime | None:
        return self.moment(self.job_row.get(column, self.first_row), column, self.job.get(column, ""))

    def job_choice(self, column: str, enum: type[E]) -> E | None:
        return self.choice(self.job_row.get(column, self.first_row), column, self.job.get(column, ""), enum)
