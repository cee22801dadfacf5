"""Push records: the state of one draft in one ledger, the ledger's side of "exactly one invoice"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
    superseded = "superseded"
    """A newer version of the job came before this draft reached the ledger: withdrawn, never sent."""


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
    ledger_tax: Decimal | None = None
    """The tax the ledger computed when it created the invoice; None before it answered."""
    ledger_total: Decimal | None = None
    payment_state: str = ""
    """``workorders.payments.PaymentState`` as ``closeout reconcile`` last read it; "" before it read one."""
    ledger_balance: Decimal | None = None
    """What the customer still owed at that reading."""
    payment_read_at: datetime | None = None
    attempts: int = 0
    last_error: str = ""
    updated_at: datetime | None = None


STALE_AFTER = timedelta(minutes=10)
"""A push record or evidence item claimed for longer than this lost its worker (one create takes seconds, a
timeout 30 s): it is released as uncertain, to be looked up before any resend."""

EMAIL = "email"
"""The evidence item that is the invoice e-mailed to the customer (every other item is a kept file's hash)."""
EVIDENCE_STATUSES = ("pending", "sending", "done", "failed")


@dataclass(frozen=True)
class EvidenceItem:
    idempotency_key: str
    item: str
    company: str
    ledger: str
    kind: str
    target: str  # the file name in the ledger, or the e-mail address
    media_type: str
    size_bytes: int
    status: str
    ledger_ref: str | None
    attempts: int
    last_error: str

    @property
    def is_email(self) -> bool:
        return self.item == EMAIL
