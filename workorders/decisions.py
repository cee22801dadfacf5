"""Rule decisions: every evaluation of every rule, kept so any invoice line can be explained."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Outcome(StrEnum):
    passed = "pass"
    warn = "warn"
    block = "block"
    transform = "transform"
    no_invoice = "no_invoice"


class RuleDecision(BaseModel):
    """What one rule said about one version of one work order, and why."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    rule_version: int
    work_order_id: str
    work_order_version: int
    outcome: Outcome
    reason: str
    evidence: dict[str, Any] = {}
    run_id: str = ""
    decided_at: datetime | None = None
