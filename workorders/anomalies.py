"""Anomalies: business problems as values, each becoming a case in the exception queue."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class AnomalyCode(StrEnum):
    """Stable snake_case codes: they are the case kinds people see in logs, the UI and tests."""

    rule_blocked = "rule_blocked"
    missing_mapping = "missing_mapping"
    ambiguous_customer = "ambiguous_customer"
    unknown_customer = "unknown_customer"
    source_payload_invalid = "source_payload_invalid"
    ledger_rejected = "ledger_rejected"
    uncertain_push = "uncertain_push"
    changed_after_invoiced = "changed_after_invoiced"
    unmatched_email = "unmatched_email"
    mailbox_stalled = "mailbox_stalled"
    token_expiring = "token_expiring"
    connection_failed = "connection_failed"
    reconciliation_mismatch = "reconciliation_mismatch"
    ledger_token_expiring = "ledger_token_expiring"
    ledger_refresh_failed = "ledger_refresh_failed"
    attachment_failed = "attachment_failed"
    invoice_send_failed = "invoice_send_failed"
    tax_mismatch = "tax_mismatch"


class Anomaly(BaseModel):
    """One thing a person must look at: what, about which record, why, and the evidence."""

    model_config = ConfigDict(frozen=True)

    code: AnomalyCode
    subject: str
    company: str = ""
    summary: str
    evidence: dict[str, Any] = {}
    work_order_id: str | None = None
    work_order_version: int | None = None
    suggested_actions: tuple[str, ...] = ()
