"""Push records: the state of one draft in one ledger, the ledger's side of "exactly one invoice"."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workorders.drafts import InvoiceDraft


class PushStatus(StrEnum):
    ready = "ready"
    pushing = "pushing"
    pushed = "pushed"
    rejected = "rejected"
    uncertain = "uncertain"


class PushRecord(BaseModel):
    """``ready → pushing → pushed | rejected | uncertain``; an uncertain one is looked up before any resend."""

    model_config = ConfigDict(frozen=True)

    idempotency_key: str
    company: str
    ledger: str
    work_order_id: str
    work_order_version: int
    doc_number: str
    amount: Decimal
    status: PushStatus
    draft: InvoiceDraft
    ledger_id: str | None = None
    attempts: int = 0
    last_error: str = ""
    updated_at: datetime | None = None
