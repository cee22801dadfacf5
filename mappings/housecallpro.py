"""A Housecall Pro job with its line items (``{"job", "line_items"}``) to a WorkOrder, or a case keeping the payload.

Decisions, each with its reason:

* Money is integer cents: ``Decimal(cents) / 100``, exact. A line's ``amount`` must equal quantity × price
  (to the cent), else the job is a case: we never silently recompute what the customer was quoted.
* ``work_status`` comes with spaces in live payloads (``"complete unrated"``) and underscores in the spec
  (``complete_unrated``): both are normalised before the ``STATUSES`` table. ``deleted_at`` makes a job
  deleted and ``canceled_at`` cancelled, whatever the status says.
* Line kinds: labor → labour, materials → material, fixed gratuity → fee, fixed/percent discount →
  discount (its ``amount`` is the reduction). A ``tax`` line is not billed as a line: the ledger applies tax
  from the tax code. What Housecall Pro charged is kept to compare with: ``source_tax`` is the sum of the tax
  lines (``amount``, else quantity × unit_price; None when there is no tax line), and each is also a note.
  The job and its line items carry no tax total and no rate name (only ``taxable``; the invoice's ``taxes[]``
  come from a call the connector does not make), so every line's ``tax_rate`` is None.
* Visits: each appointment (``expand[]=appointments``); a job without appointments gets one visit from
  its ``schedule``. Appointment times come without a zone and are read in the company's zone.
* Time entries: Housecall Pro has no time sheets; started_at → completed_at per assigned employee is kept
  as evidence (``billable=False``). Labour is billed from labor lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from mappings.source_values import PayloadError, cents_from, decimal_from, map_or_case, text_from, time_from
from workorders.anomalies import Anomaly
from workorders.money import round_money
from workorders.work_order import (
    Address, Attachment, AttachmentKind, Customer, JobType, LineItem, LineKind, Note, Site, Technician, TimeEntry,
    Visit, WorkOrder, WorkOrderStatus,
)

SOURCE = "housecallpro"
STATUSES = {
    "unscheduled": WorkOrderStatus.scheduled, "needs_scheduling": WorkOrderStatus.scheduled,
    "open": WorkOrderStatus.scheduled, "scheduled": WorkOrderStatus.scheduled,
    "in_progress": WorkOrderStatus.in_progress, "timed_out": WorkOrderStatus.on_hold,
    "complete_unrated": WorkOrderStatus.completed, "complete_rated": WorkOrderStatus.completed,
    "completed": WorkOrderStatus.completed, "canceled": WorkOrderStatus.cancelled,
    "pro_canceled": WorkOrderStatus.cancelled, "user_canceled": WorkOrderStatus.cancelled,
    "deleted": WorkOrderStatus.deleted,
}
KINDS = {"labor": LineKind.labour, "materials": LineKind.material, "fixed_gratuity": LineKind.fee,
         "fixed_discount": LineKind.discount, "percent_discount": LineKind.discount}


def normalise_status(raw: str) -> str:
    return "_".join(raw.replace("_", " ").lower().split())


def map_housecallpro_job(
    payload: Mapping[str, Any], *, company: str, default_timezone: str, currency: str = "USD"
) -> WorkOrder | Anomaly:
    """Never raises for bad input: any unreadable field gives one anomaly naming it, with the payload kept."""

    def build(job: Mapping[str, Any], external_id: str) -> WorkOrder:
        lines = payload.get("line_items")
        return _build(job, lines if isinstance(lines, list) else [], external_id, company=company,
                      zone=default_timezone, currency=currency)

    return map_or_case(payload, build, source=SOURCE, company=company, job_key="job",
                       no_id=("job.id", "not a Housecall Pro job (no job id)"))


def _build(job: Mapping[str, Any], raw_lines: list[Any], external_id: str, *, company: str, zone: str,
           currency: str) -> WorkOrder:
    updated_at = time_from(job.get("updated_at"), "job.updated_at", zone=zone, required=True)
    stamps = job.get("work_timestamps") if isinstance(job.get("work_timestamps"), Mapping) else {}
    completed_at = time_from(stamps.get("completed_at"), "job.work_timestamps.completed_at", zone=zone)
    technicians = tuple(_technician(e, i) for i, e in enumerate(job.get("assigned_employees") or []))
    lines, notes = [], [Note(author=SOURCE, at=updated_at, text=text_from(n.get("content")), source=SOURCE)
                        for n in job.get("notes") or [] if isinstance(n, Mapping) and n.get("content")]
    taxes = []
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, Mapping):
            raise PayloadError(f"line_items[{index}]", "not an object")
        if normalise_status(text_from(raw.get("kind"))) == "tax":
            tax = _tax_amount(raw, index)
            taxes.append(tax)
            notes.append(Note(author=SOURCE, at=updated_at, source=SOURCE,
                              text=f"source tax line {text_from(raw.get('name'))!r}: {tax} (left to the ledger's tax code)"))
            continue
        lines.append(_line(raw, index, external_id))
    started = time_from(stamps.get("started_at"), "job.work_timestamps.started_at", zone=zone)
    entries = tuple(TimeEntry(source_id=f"{external_id}:{t.source_id}", technician_id=t.source_id, start=started,
                              end=completed_at, billable=False)
                    for t in technicians if started and completed_at and completed_at > started)
    return WorkOrder(
        source=SOURCE, external_id=external_id, job_number=text_from(job.get("invoice_number")) or external_id,
        company=company, customer=_customer(job.get("customer")), site=_site(job.get("address"), zone),
        job_type=_job_type(job), status=_status(job, completed_at), scope=text_from(job.get("description")),
        visits=_visits(job, external_id, zone), technicians=technicians, time_entries=entries,
        line_items=tuple(lines), notes=tuple(notes), attachments=_attachments(job.get("attachments")),
        currency=currency, source_tax=sum(taxes, Decimal(0)) if taxes else None, completed_at=completed_at,
        updated_at=updated_at,
    )


def _tax_amount(raw: Mapping[str, Any], index: int) -> Decimal:
    """A tax line's amount: ``amount``, else quantity × unit_price; a line that gives neither is a case, not a zero."""
    where = f"line_items[{index}]"
    amount = cents_from(raw.get("amount"), f"{where}.amount", required=False)
    priced = all(raw.get(key) not in (None, "") for key in ("quantity", "unit_price"))
    if not priced:
        if amount is None:
            raise PayloadError(f"{where}.amount", "a tax line needs its amount (or quantity and unit_price)")
        return amount
    quantity = decimal_from(raw.get("quantity"), f"{where}.quantity")
    price = cents_from(raw.get("unit_price"), f"{where}.unit_price")
    if amount is not None and round_money(quantity * price) != round_money(amount):
        raise PayloadError(f"{where}.amount", f"{amount} is not quantity {quantity} × unit_price {price}")
    return amount if amount is not None else round_money(quantity * price)


def _status(job: Mapping[str, Any], completed_at: datetime | None) -> WorkOrderStatus:
    if job.get("deleted_at"):
        return WorkOrderStatus.deleted
    if job.get("canceled_at"):
        return WorkOrderStatus.cancelled
    raw = normalise_status(text_from(job.get("work_status")))
    if raw not in STATUSES:
        raise PayloadError("job.work_status", f"{raw or '(empty)'!r} is not a Housecall Pro status Closeout knows")
    if STATUSES[raw] is WorkOrderStatus.completed and completed_at is None:
        raise PayloadError("job.work_timestamps.completed_at", "the job is complete but has no completion time")
    return STATUSES[raw]


def _job_type(job: Mapping[str, Any]) -> JobType:
    fields = job.get("job_fields") if isinstance(job.get("job_fields"), Mapping) else {}
    kind = fields.get("job_type")
    name = text_from(kind.get("name") if isinstance(kind, Mapping) else kind).lower()
    name = name or text_from(job.get("description")).lower()
    for word, job_type in (("install", JobType.installation), ("inspect", JobType.inspection),
                           ("maint", JobType.preventive), ("emergency", JobType.emergency)):
        if word in name:
            return job_type
    return JobType.preventive if job.get("recurrence_rule") else JobType.corrective


def _customer(value: Any) -> Customer:
    if not isinstance(value, Mapping) or not value.get("id"):
        raise PayloadError("job.customer", "the job has no customer")
    person = " ".join(p for p in (text_from(value.get("first_name")), text_from(value.get("last_name"))) if p)
    name = text_from(value.get("company")) or person
    if not name:
        raise PayloadError("job.customer", "the customer has neither a company nor a person's name")
    phone = text_from(value.get("mobile_number") or value.get("home_number") or value.get("work_number")) or None
    return Customer(source_id=text_from(value["id"]), name=name, email=text_from(value.get("email")) or None, phone=phone)


def _site(value: Any, zone: str) -> Site:
    a = value if isinstance(value, Mapping) else {}
    address = Address(line1=text_from(a.get("street")), line2=text_from(a.get("street_line_2")),
                      city=text_from(a.get("city")), region=text_from(a.get("state")),
                      postal_code=text_from(a.get("zip")), country=text_from(a.get("country")))
    return Site(source_id=text_from(a.get("id")), address=address, timezone=zone)  # address id may be null


def _technician(value: Any, index: int) -> Technician:
    if not isinstance(value, Mapping) or not value.get("id"):
        raise PayloadError(f"job.assigned_employees[{index}]", "an employee without an id")
    name = " ".join(p for p in (text_from(value.get("first_name")), text_from(value.get("last_name"))) if p)
    return Technician(source_id=text_from(value["id"]), name=name or text_from(value["id"]),
                      email=text_from(value.get("email")) or None)


def _visits(job: Mapping[str, Any], external_id: str, zone: str) -> tuple[Visit, ...]:
    schedule = job.get("schedule") if isinstance(job.get("schedule"), Mapping) else {}
    appointments = [a for a in schedule.get("appointments") or job.get("appointments") or [] if isinstance(a, Mapping)]
    if appointments:
        return tuple(Visit(source_id=text_from(a.get("id")) or f"{external_id}:{i}",
                           scheduled_start=time_from(a.get("start_time"), f"appointments[{i}].start_time", zone=zone),
                           scheduled_end=time_from(a.get("end_time"), f"appointments[{i}].end_time", zone=zone),
                           technician_ids=tuple(str(e) for e in a.get("dispatched_employees_ids") or []))
                     for i, a in enumerate(appointments))
    start = time_from(schedule.get("scheduled_start"), "job.schedule.scheduled_start", zone=zone)
    if start is None:
        return ()
    return (Visit(source_id=f"{external_id}:schedule", scheduled_start=start,
                  scheduled_end=time_from(schedule.get("scheduled_end"), "job.schedule.scheduled_end", zone=zone),
                  technician_ids=tuple(text_from(e.get("id")) for e in job.get("assigned_employees") or []
                                       if isinstance(e, Mapping))),)


def _line(raw: Mapping[str, Any], index: int, job_id: str) -> LineItem:
    where = f"line_items[{index}]"
    kind_text = normalise_status(text_from(raw.get("kind")))
    if kind_text not in KINDS:
        raise PayloadError(f"{where}.kind", f"{text_from(raw.get('kind')) or '(empty)'!r} is not a line kind Closeout knows")
    kind = KINDS[kind_text]
    amount = cents_from(raw.get("amount"), f"{where}.amount", required=False)
    if kind is LineKind.discount:
        if amount is None:
            raise PayloadError(f"{where}.amount", "a discount needs its amount")
        quantity, price = decimal_from(1, where), abs(amount)
    else:
        quantity = decimal_from(raw.get("quantity"), f"{where}.quantity")
        price = cents_from(raw.get("unit_price"), f"{where}.unit_price")
        if quantity < 0 or price < 0:
            raise PayloadError(f"{where}", "a negative quantity or price on a line that is not a discount")
        if amount is not None and round_money(quantity * price) != round_money(amount):
            raise PayloadError(f"{where}.amount", f"{amount} is not quantity {quantity} × unit_price {price}")
    name = text_from(raw.get("name"))
    return LineItem(source_id=text_from(raw.get("id")) or f"{job_id}:{index + 1}", kind=kind,
                    description=name or text_from(raw.get("description")) or kind.value, quantity=quantity,
                    unit_price=price, unit_cost=cents_from(raw.get("unit_cost"), f"{where}.unit_cost", required=False),
                    item_code=name or None,
                    taxable=bool(raw.get("taxable", True)))


def _attachments(value: Any) -> tuple[Attachment, ...]:
    found = []
    for item in value or []:
        if not isinstance(item, Mapping):
            continue
        name, media = text_from(item.get("file_name")) or "file", text_from(item.get("file_type")) or "application/octet-stream"
        kind = (AttachmentKind.signature if "signature" in name.lower()
                else AttachmentKind.photo if media.startswith("image/") else AttachmentKind.document)
        found.append(Attachment(content_hash=f"housecallpro-file:{text_from(item.get('id'))}", file_name=name,
                                kind=kind, media_type=media))
    return tuple(found)
