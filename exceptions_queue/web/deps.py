"""Helpers shared by the pages (``app``) and the JSON API (``api``); a leaf, so neither imports the other."""

from __future__ import annotations

from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import CaseFilters


def filters_from(items: list[tuple[str, str]]) -> CaseFilters:
    """Query parameters → filters; unknown values are dropped rather than failing the page."""
    values: dict[str, list[str]] = {}
    for name, value in items:
        if value:
            values.setdefault(name, []).append(value)
    statuses = tuple(CaseStatus(s) for s in values.get("status", []) if s in CaseStatus.__members__)
    kinds = tuple(CaseKind(k) for k in values.get("kind", []) if k in CaseKind.__members__)
    if values.get("status") == ["all"]:
        statuses = tuple(CaseStatus)
    return CaseFilters(
        statuses=statuses or (CaseStatus.open, CaseStatus.in_progress), kinds=kinds,
        company=(values.get("company") or [None])[0], assignee=(values.get("assignee") or [None])[0],
        tag=(values.get("tag") or [None])[0], older_than=(values.get("age") or [None])[0],
    )


__all__ = ["filters_from"]
