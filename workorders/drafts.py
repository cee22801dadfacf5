"""Invoice drafts: exactly what will be sent to a ledger, with the key that makes sending it idempotent."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, computed_field

from workorders.money import Money, Quantity, round_money


def derive_idempotency_key(work_order_id: str, version: int, ledger: str) -> str:
    """One key per work order version and ledger; short enough for QBO's 50-character requestid."""
    digest = hashlib.sha256(f"{ledger}|{work_order_id}|{version}".encode()).hexdigest()[:32]
    return f"co-{digest}"


class DraftLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    description: str
    quantity: Quantity
    unit_price: Money
    item_ref: str
    income_account: str | None = None
    tax_code: str
    service_date: date | None = None
    kind: str = "labour"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount(self) -> Money:
        return round_money(self.quantity * self.unit_price)


class InvoiceDraft(BaseModel):
    """An invoice ready for one ledger. Built only from a work order version that every rule let through."""

    model_config = ConfigDict(frozen=True)

    company: str
    ledger: str
    work_order_id: str
    work_order_version: int
    customer_name: str
    customer_email: str | None = None
    customer_ref: str | None = None
    doc_number: str
    txn_date: date
    currency: str
    memo: str = ""
    po_number: str | None = None
    lines: tuple[DraftLine, ...]
    attachment_hashes: tuple[str, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Money:
        return sum((line.amount for line in self.lines), Decimal(0))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def idempotency_key(self) -> str:
        return derive_idempotency_key(self.work_order_id, self.work_order_version, self.ledger)

    def request_key(self) -> str:
        """The key sent to the ledger (QBO ``requestid``, Xero ``Idempotency-Key``) for this exact content.

        A ledger answers a repeated key with its first answer, a refusal included, so a draft rebuilt
        after a refusal (a customer chosen, a mapping added) must travel under a new key or it could never
        be accepted. An unchanged draft keeps its key, so resending it stays idempotent. Only a refused
        record is ever rebuilt, and a refusal means no invoice was created: a new key cannot make a second.
        """
        content = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(f"{self.idempotency_key}|{content}".encode()).hexdigest()[:32]
        return f"co-{digest}"
