"""One measured figure of a benchmark scenario, with its ceiling or baseline and its target."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


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


REFUSALS = "calls the sandbox refused (429)"
"""The measure a scenario that talks to the rate-limited sandbox reports its refusals under."""


def refusals_measure(scenario: str, refused: list[dict[str, Any]]) -> Measure:
    """The sandbox's refused calls (its ``/_sandbox/limits`` tally: system, company, problem, calls) as a measure.

    Any refusal fails it, and ``mark_refusals`` then marks the scenario's other targets not met: a figure reached
    by being refused and retried is not a figure the ledger would allow.
    """
    calls = sum(int(entry["calls"]) for entry in refused)
    detail = ", ".join(f"{e['company']} {e['system']} {e['problem']}: {e['calls']}" for e in refused) or "none"
    return Measure(scenario, REFUSALS, calls, "calls", 0, f"refused, by limit ({detail})", None, "== 0",
                   calls == 0)


def refused_calls(measures: list[Measure]) -> int | None:
    """The refusals the measures report, or None when the scenario does not count any."""
    found = [m.value for m in measures if m.measure == REFUSALS]
    return int(sum(found)) if found else None


def mark_refusals(measures: list[Measure]) -> list[Measure]:
    """The measures with every target of a scenario that saw a refusal marked not met."""
    refused = {m.scenario for m in measures if m.measure == REFUSALS and m.value}
    return [replace(m, met=False) if m.scenario in refused and m.met is not None else m for m in measures]
