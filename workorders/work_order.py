"""The canonical work order: what happened in the field, in one shape for every source."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from decimal import Decimal

from workorders.money import Money, Quantity, round_money


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("datetimes must carry a time zone")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class JobType(StrEnum):
    preventive = "preventive"
    corrective = "corrective"
    emergency = "emergency"
    inspection = "inspection"
    general_maintenance = "general_maintenance"
    installation = "installation"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class WorkOrderStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    on_hold = "on_hold"
    completed = "completed"
    cancelled = "cancelled"
    deleted = "deleted"


class Billing(StrEnum):
    """Whether the customer pays: warranty and no-charge work is done, logged, and never invoiced."""

    billable = "billable"
    warranty = "warranty"
    no_charge = "no_charge"


class LineKind(StrEnum):
    labour = "labour"
    part = "part"
    material = "material"
    fee = "fee"
    discount = "discount"


class AttachmentKind(StrEnum):
    photo_before = "photo_before"
    photo_after = "photo_after"
    photo = "photo"
    signature = "signature"
    document = "document"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Record):
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


class Customer(_Record):
    source_id: str
    name: str
    email: str | None = None
    phone: str | None = None
    billing_address: Address = Address()
    contact_emails: tuple[str, ...] = ()
    """Other addresses the source lists for the customer (beside ``email``): mail from them speaks for the
    customer too, so their sign-off counts (``workorders.rules.evidence``)."""


class Site(_Record):
    source_id: str = ""
    name: str = ""
    address: Address = Address()
    timezone: str = "UTC"


class Technician(_Record):
    source_id: str
    name: str
    email: str | None = None
    crew: str | None = None


class Visit(_Record):
    source_id: str
    scheduled_start: AwareDatetime | None = None
    scheduled_end: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    technician_ids: tuple[str, ...] = ()


class TimeEntry(_Record):
    source_id: str
    technician_id: str
    start: AwareDatetime
    end: AwareDatetime
    billable: bool = True

    @property
    def hours(self) -> Decimal:
        seconds = int((self.end - self.start).total_seconds())
        return (Decimal(seconds) / Decimal(3600)).quantize(Decimal("0.0001"))


class LineItem(_Record):
    source_id: str
    kind: LineKind
    description: str
    quantity: Quantity
    unit_price: Money | None = None
    unit_cost: Money | None = None
    item_code: str | None = None
    taxable: bool = True
    tax_rate: str | None = None
    """The source's own name for the tax on this line ("GST", "HST ON", "8.25%"); the mapping tables'
    ``tax_rates`` turn it into a ledger tax code. None: the line is just taxable or not."""
    service_date: date | None = None

    @property
    def amount(self) -> Decimal:
        """Quantity times price, rounded to cents; a discount is always negative."""
        if self.unit_price is None:
            return Decimal(0)
        value = round_money(self.quantity * self.unit_price)
        return -abs(value) if self.kind is LineKind.discount else value


class Note(_Record):
    author: str
    at: AwareDatetime
    text: str
    source: str = "source"


class EvidenceStanding(StrEnum):
    """Whether a piece of evidence may satisfy a rule; every value but ``counts`` is a stable reason why not."""

    counts = "counts"
    sender_not_entitled = "sender_not_entitled"
    """The sender is neither the job's customer (or one of its contacts) nor the company's staff."""
    authentication_failed = "authentication_failed"
    """The receiving server's SPF/DKIM/DMARC verdict on the message was a fail: its From may be forged."""
    authentication_missing = "authentication_missing"
    """The mailbox requires a passing verdict (``auth_results = "require_pass"``) and the message had none."""
    unconfirmed_signature = "unconfirmed_signature"
    """An image that is a signature by its name only: no sign-off sentence came with it, no person confirmed it."""


class Provenance(_Record):
    """Where a piece of evidence came from, and whether it may satisfy a rule.

    A record without one was declared by the source system itself (its app captured the signature or photo)
    and counts. Evidence read from mail always carries one; ``why`` says in one sentence why it does not count,
    and the rule that cannot use it repeats that sentence in its decision. It is kept and shown either way.
    """

    reference: str
    """What brought it: ``mail:<Message-ID>``."""
    sender: str = ""
    sender_role: str = ""
    """customer | technician | staff, or "" for anyone else."""
    authentication: str = "none"
    """The trusted receiving server's verdict: pass | fail | none (no trusted verdict) | not_checked."""
    standing: EvidenceStanding = EvidenceStanding.counts
    why: str = ""

    @property
    def counts(self) -> bool:
        return self.standing is EvidenceStanding.counts

    @property
    def sender_trusted(self) -> bool:
        """The sender is entitled and authenticated (the evidence may still need a person, as a bare signature)."""
        return self.standing in (EvidenceStanding.counts, EvidenceStanding.unconfirmed_signature)


class Attachment(_Record):
    content_hash: str
    file_name: str
    kind: AttachmentKind
    media_type: str = "application/octet-stream"
    size_bytes: int = 0
    provenance: Provenance | None = None
    """None: declared by the source. From mail: who sent it and whether it counts (see ``Provenance``)."""

    @property
    def counts(self) -> bool:
        """Whether the attachment may satisfy a rule (a photo or a signature the rules ask for)."""
        return self.provenance is None or self.provenance.counts

    @property
    def may_be_shared(self) -> bool:
        """Whether the file may leave Closeout (attached to the ledger invoice the customer sees): not a file from
        a sender who is not entitled or whose message failed authentication, which is kept and shown only."""
        return self.provenance is None or self.provenance.sender_trusted


class Approval(_Record):
    kind: str = Field(description="what was approved: work, amount, change_request, override")
    approved_by: str
    approved_at: AwareDatetime
    reference: str = ""
    provenance: Provenance | None = None
    """None: recorded by the source or a person in Closeout. From mail: whether the sign-off counts."""

    @property
    def counts(self) -> bool:
        return self.provenance is None or self.provenance.counts


class ChangeRequest(_Record):
    source_id: str
    description: str
    amount: Money = Decimal(0)
    approved: bool = False


class WorkOrder(_Record):
    """One job as Closeout understands it. ``id`` is ``"{source}:{external_id}"`` and never changes."""

    source: str
    external_id: str
    job_number: str
    company: str
    customer: Customer
    site: Site = Site()
    job_type: JobType
    priority: Priority = Priority.normal
    status: WorkOrderStatus
    scope: str = ""
    visits: tuple[Visit, ...] = ()
    technicians: tuple[Technician, ...] = ()
    time_entries: tuple[TimeEntry, ...] = ()
    line_items: tuple[LineItem, ...] = ()
    notes: tuple[Note, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    approvals: tuple[Approval, ...] = ()
    change_requests: tuple[ChangeRequest, ...] = ()
    billing: Billing = Billing.billable
    currency: str = "USD"
    po_number: str | None = None
    source_tax: Money | None = None
    """The sales tax the source system charged for the job, in ``currency``; None when it reports none.
    Closeout never bills it: the ledger computes tax, and a difference from this figure opens a case."""
    completed_at: AwareDatetime | None = None
    updated_at: AwareDatetime
    version: int = 0

    @property
    def id(self) -> str:
        return f"{self.source}:{self.external_id}"

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.line_items), Decimal(0))

    def content_hash(self) -> str:
        """A hash of what the job says, not of when we saw it: equal content, equal hash."""
        return content_hash_of(self.model_dump(mode="json", exclude={"version"}))

    def with_version(self, version: int) -> "WorkOrder":
        return self.model_copy(update={"version": version})


def content_hash_of(document: dict[str, Any]) -> str:
    """``WorkOrder.content_hash`` of the order whose JSON form (``snapshot``) this is; its ``version`` is left out.

    So a store can hash and keep one ``model_dump``. The document is not changed: what the hash leaves out is
    left out of copies.
    """
    body = {key: value for key, value in document.items() if key != "version"}
    # Fields added after orders were first stored leave the hash alone at their default, so an upgrade
    # never turns every stored job into a spurious new version.
    if body.get("billing") == Billing.billable.value:
        del body["billing"]
    if body.get("source_tax") is None:
        body.pop("source_tax", None)
    if "line_items" in body:
        body["line_items"] = [_without_none(line, "tax_rate") for line in body["line_items"]]
    for name in ("attachments", "approvals"):
        if name in body:
            body[name] = [_without_none(record, "provenance") for record in body[name]]
    customer = body.get("customer", {})
    if not customer.get("contact_emails") and "contact_emails" in customer:
        body["customer"] = {key: value for key, value in customer.items() if key != "contact_emails"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _without_none(record: dict[str, Any], key: str) -> dict[str, Any]:
    """``record`` without ``key`` when that is None (a copy then), else ``record`` itself."""
    if key in record and record[key] is None:
        return {name: value for name, value in record.items() if name != key}
    return record


def snapshot(order: WorkOrder) -> dict[str, Any]:
    """The JSON form stored beside each version and shown on cases."""
    return order.model_dump(mode="json")
