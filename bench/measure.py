"""One measured figure of a benchmark scenario, with its ceiling or baseline and its target."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """A figure a scenario reports: value, what it is compared to, and whether the target is met."""

    scenario: str
    measure: str
    value: float
    unit: str
    reference: float | None
    reference_label: str
    ratio: float | None
    target: str
    met: bool | None
