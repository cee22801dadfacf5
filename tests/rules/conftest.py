"""Fixtures for the rules tests: a clean completed work order, changed per test with keyword arguments."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest


from workorders.work_order import (
    Approval, Customer, JobType, LineItem, LineKind, Note, TimeEntry, WorkOrder, WorkOrderStatus,
)

AT = datetime(2026, 11, 3, 20, 40, tzinfo=UTC)


class Build:
    """Small builders for the records rules look at; tests get them through the ``build`` fixture."""

    @staticmethod
    def line(kind: str = "part", price: str | None = "89.00", quantity: str = "1", **fields: Any) -> LineItem:
        fields.setdefault("source_id", f"J1:{kind}")
        fields.setdefault("description", f"a {kind}")
        unit_price = None if price is None else Decimal(price)
        return LineItem(kind=LineKind(kind), quantity=Decimal(quantity), unit_price=unit_price, **fields)

    @staticmethod
    def approval(kind: str) -> Approval:
        return Approval(kind=kind, approved_by="Grace Kim", approved_at=AT)

    @staticmethod
    def entry(start: datetime, minutes: int, source_id: str = "T1", **fields: Any) -> TimeEntry:
        """A time entry of ``minutes`` from ``start`` (aware)."""
        from datetime import timedelta

        return TimeEntry(source_id=source_id, technician_id=fields.pop("technician_id", "dana"), start=start,
                         end=start + timedelta(minutes=minutes), **fields)

    @staticmethod
    def order(**changes: Any) -> WorkOrder:
        """A completed, signed-off, priced corrective job of 214.00 USD with a note; keyword arguments replace fields."""
        fields: dict[str, Any] = {
            "source": "csv", "external_id": "J1", "job_number": "1001", "company": "northwind",
            "customer": Customer(source_id="C-1", name="Maple Street Bakery"), "job_type": JobType.corrective,
            "status": WorkOrderStatus.completed, "completed_at": AT, "updated_at": AT, "version": 3,
            "line_items": (
                Build.line("labour", "125.00", source_id="J1:1"), Build.line("part", "89.00", source_id="J1:2", item_code="CAP-45-5"),
            ),
            "approvals": (Build.approval("sign_off"),),
            "notes": (Note(author="Dana Ruiz", at=AT, text="Replaced the capacitor."),),
        }
        return WorkOrder(**(fields | changes))


@pytest.fixture
def build() -> type[Build]:
    return Build
