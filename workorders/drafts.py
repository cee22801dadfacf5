"""Invoice drafts: exactly what will be sent to a ledger, with the key that makes sending it idempotent."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, computed_field

from workorders.money import Money, Quantity, round_money
from workorders.work_order import Address


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
    taxable: bool = True
    tracking: tuple[str, ...] = ()
    """Xero tracking as "Category/Option", on every line (Xero tracks per line)."""

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
    due_date: date | None = None
    sales_term_ref: str | None = None
    bill_to: Address | None = None
    ship_to: Address | None = None
    """Where the work was done: QBO's Automated Sales Tax taxes the invoice at this address."""
    class_ref: str | None = None
    department_ref: str | None = None
    source_tax: Money | None = None
    """The tax the source system charged; compared with the tax the ledger computes, never sent."""

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
        content = json.dumps(_keyed_content(self), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(f"{self.idempotency_key}|{content}".encode()).hexdigest()[:32]
        return f"co-{digest}"


_LATER_FIELDS = ("due_date", "sales_term_ref", "bill_to", "ship_to", "class_ref", "department_ref", "source_tax")
_LATER_LINE_FIELDS = {"taxable": True, "tracking": []}


def _keyed_content(draft: InvoiceDraft) -> dict:
    """The draft's content for its request key, without fields added later while they hold their default:
    a draft stored before they existed keeps the key it was sent under, so a resend stays a replay."""
    body = draft.model_dump(mode="json")
    for name in _LATER_FIELDS:
        if body.get(name) is None:
            body.pop(name, None)
    for line in body["lines"]:
        for name, default in _LATER_LINE_FIELDS.items():
            if line.get(name) == default:
                line.pop(name, None)
    return body
