"""Cases: the items of the exception queue, each with an append-only history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from workorders.anomalies import AnomalyCode

CaseKind = AnomalyCode
"""A case's kind is the code of the anomaly that opened it: one vocabulary from rule to UI."""


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class CaseStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    resolved = "resolved"
    ignored = "ignored"


SEVERITY_BY_KIND: dict[CaseKind, Severity] = {
    CaseKind.rule_blocked: Severity.medium,
    CaseKind.missing_mapping: Severity.medium,
    CaseKind.ambiguous_customer: Severity.medium,
    CaseKind.unknown_customer: Severity.medium,
    CaseKind.source_payload_invalid: Severity.medium,
    CaseKind.ledger_rejected: Severity.high,
    CaseKind.uncertain_push: Severity.high,
    CaseKind.changed_after_invoiced: Severity.high,
    CaseKind.unmatched_email: Severity.low,
    CaseKind.mailbox_stalled: Severity.high,
    CaseKind.token_expiring: Severity.high,
    CaseKind.connection_failed: Severity.high,
    CaseKind.reconciliation_mismatch: Severity.high,
    CaseKind.ledger_token_expiring: Severity.medium,
    CaseKind.ledger_refresh_failed: Severity.high,
    CaseKind.attachment_failed: Severity.medium,
    CaseKind.invoice_send_failed: Severity.medium,
    CaseKind.tax_mismatch: Severity.medium,
}


class HistoryEntry(BaseModel):
    """One line of a case's audit trail: who did what, when, why, and what changed."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    action: str
    note: str = ""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}


class Case(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int | None = None
    kind: CaseKind
    severity: Severity
    status: CaseStatus = CaseStatus.open
    company: str = ""
    subject: str
    summary: str
    work_order_id: str | None = None
    work_order_version: int | None = None
    evidence: dict[str, Any] = {}
    suggested_actions: tuple[str, ...] = ()
    assignee: str | None = None
    tags: tuple[str, ...] = ()
    opened_at: datetime
    updated_at: datetime
    history: tuple[HistoryEntry, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status in (CaseStatus.open, CaseStatus.in_progress)
