"""A Jobber job node (GraphQL, as ``connectors.jobber`` lands it) to a WorkOrder, or a case that keeps the payload.

Decisions, each with its reason:

* Money is a JSON Float in Jobber: ``Decimal(str(x))`` keeps the digits Jobber printed; never float arithmetic.
* ``jobStatus`` mixes lifecycle and calendar states; ``STATUSES`` is the explicit table. ``archived`` is a
  closed job: completed when it has ``completedAt``, cancelled otherwise. An unknown status is a case.
* Lines: ``SERVICE`` → labour, ``PRODUCT`` → part; a negative price is a discount (Jobber has no discount
  type). ``name`` is the item code the company's mapping tables translate.
* Tax is the ledger's to compute, from tax codes. Jobber has no tax lines and no rate per job line: a line
  is ``taxable`` or not, and the rate is the property's ``taxRate``, whose ``name`` becomes the ``tax_rate``
  of each taxable line (None when the property has no rate). ``source_tax`` stays None: a Jobber job has no
  tax amount (``total``, ``invoicedTotal``, ``uninvoicedTotal`` keep none apart); only its invoices
  (``amounts``) and quote (``taxDetails``) do, and the connector reads neither.
* Labour is billed from line items. Time sheet entries are kept as evidence (``billable=False``), because
  Jobber's ``labourRate`` is the employee's cost rate, not a price; a running timer is left out.
* Every visit is kept (multi-visit jobs) with its assigned users; technicians are the users seen.
* Files are referenced, not downloaded: ``content_hash`` is ``jobber-file:<id>`` until they are fetched.
* Jobber sends zoned times; a time without a zone is read in the company's zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from mappings.source_values import (
    PayloadError, decimal_from, map_or_case, nodes_of, text_from, time_from,
)
from workorders.anomalies import Anomaly
from workorders.money import round_money
from workorders.work_order import (
    Address, Attachment, AttachmentKind, Customer, JobType, LineItem, LineKind, Note, Site, Technician, TimeEntry,
    Visit, WorkOrder, WorkOrderStatus,
)

SOURCE = "jobber"
STATUSES = {
    "requires_invoicing": WorkOrderStatus.completed,
    "active": WorkOrderStatus.in_progress,
    "today": WorkOrderStatus.scheduled,
    "upcoming": WorkOrderStatus.scheduled,
    "late": WorkOrderStatus.scheduled,
    "unscheduled": WorkOrderStatus.scheduled,
    "expiring_within_30_days": WorkOrderStatus.in_progress,
    "action_required": WorkOrderStatus.on_hold,
    "on_hold": WorkOrderStatus.on_hold,
}


def map_jobber_job(
    payload: Mapping[str, Any], *, company: str, default_timezone: str, currency: str = "USD"
) -> WorkOrder | Anomaly:
    """Never raises for bad input: any unreadable field gives one anomaly naming it, with the payload kept."""

    def build(job: Mapping[str, Any], external_id: str) -> WorkOrder:
        return _build(job, external_id, company=company, zone=default_timezone, currency=currency)

    return map_or_case(payload, build, source=SOURCE, company=company, job_key=None,
                       no_id=("id", "not a Jobber job (no id)"))


def _build(job: Mapping[str, Any], external_id: str, *, company: str, zone: str, currency: str) -> WorkOrder:
    status = _status(job)
    technicians: dict[str, Technician] = {}
    visits = tuple(_visit(v, i, zone, technicians) for i, v in enumerate(nodes_of(job, "visits")))
    entries = tuple(e for i, n in enumerate(nodes_of(job, "timeSheetEntries")) if (e := _entry(n, i, zone, technicians)))
    rate = _tax_rate_name(job.get("property"))
    return WorkOrder(
        source=SOURCE, external_id=external_id, job_number=text_from(job.get("jobNumber")) or external_id,
        company=company, customer=_customer(job.get("client")), site=_site(job.get("property"), zone),
        job_type=_job_type(job), status=status, scope=text_from(job.get("title")),
        visits=visits, technicians=tuple(technicians.values()), time_entries=entries,
        line_items=tuple(_line(n, i, external_id, rate) for i, n in enumerate(nodes_of(job, "lineItems"))),
        notes=tuple(_note(n, i, zone) for i, n in enumerate(nodes_of(job, "notes")) if n.get("message")),
        attachments=tuple(_attachment(n) for n in nodes_of(job, "noteAttachments")), currency=currency,
        completed_at=time_from(job.get("completedAt"), "completedAt", zone=zone),
        updated_at=time_from(job.get("updatedAt"), "updatedAt", zone=zone, required=True),
    )


def _status(job: Mapping[str, Any]) -> WorkOrderStatus:
    raw = text_from(job.get("jobStatus")).lower()
    if raw == "archived":
        return WorkOrderStatus.completed if job.get("completedAt") else WorkOrderStatus.cancelled
    if raw not in STATUSES:
        raise PayloadError("jobStatus", f"{raw or '(empty)'!r} is not a Jobber job status Closeout knows")
    status = STATUSES[raw]
    if status is WorkOrderStatus.completed and not job.get("completedAt"):
        raise PayloadError("completedAt", "the job requires invoicing but has no completion time")
    return status


def _job_type(job: Mapping[str, Any]) -> JobType:
    """Jobber has no maintenance type: recurring work is preventive; the title names installs and inspections."""
    title = text_from(job.get("title")).lower()
    if "install" in title:
        return JobType.installation
    if "inspect" in title:
        return JobType.inspection
    return JobType.preventive if text_from(job.get("jobType")).upper() == "RECURRING" else JobType.corrective


def _address(value: Any) -> Address:
    a = value if isinstance(value, Mapping) else {}
    return Address(line1=text_from(a.get("street1")), line2=text_from(a.get("street2")), city=text_from(a.get("city")),
                   region=text_from(a.get("province")), postal_code=text_from(a.get("postalCode")),
                   country=text_from(a.get("country")))


def _primary(items: Any, key: str) -> str | None:
    entries = [e for e in items or [] if isinstance(e, Mapping) and e.get(key)]
    chosen = next((e for e in entries if e.get("primary")), entries[0] if entries else None)
    return text_from(chosen[key]) if chosen else None


def _customer(client: Any) -> Customer:
    if not isinstance(client, Mapping) or not client.get("id"):
        raise PayloadError("client", "the job has no client")
    name = text_from(client.get("name")) or text_from(client.get("companyName"))
    if not name:
        raise PayloadError("client.name", "the client has no name")
    email = _primary(client.get("emails"), "address")
    return Customer(source_id=text_from(client["id"]), name=name, email=email,
                    phone=_primary(client.get("phones"), "number"), billing_address=_address(client.get("billingAddress")),
                    contact_emails=_others(client.get("emails"), "address", email))


def _others(items: Any, key: str, primary: str | None) -> tuple[str, ...]:
    """The client's other addresses (mail from them speaks for the customer), each once, at most 20."""
    found = (text_from(e[key]) for e in items or [] if isinstance(e, Mapping) and e.get(key))
    return tuple(dict.fromkeys(a for a in found if a and a != primary))[:20]


def _site(prop: Any, zone: str) -> Site:
    if not isinstance(prop, Mapping):
        return Site(timezone=zone)
    return Site(source_id=text_from(prop.get("id")), name=text_from(prop.get("name")),
                address=_address(prop.get("address")), timezone=zone)


def _tax_rate_name(prop: Any) -> str | None:
    """The name of the property's tax rate, the one Jobber taxes the job's taxable lines at; None without one."""
    rate = prop.get("taxRate") if isinstance(prop, Mapping) else None
    if rate is None:
        return None
    if not isinstance(rate, Mapping):
        raise PayloadError("property.taxRate", f"{rate!r} is not a tax rate object")
    return text_from(rate.get("name")) or None


def _user(user: Any, technicians: dict[str, Technician]) -> str | None:
    if not isinstance(user, Mapping) or not user.get("id"):
        return None
    user_id = text_from(user["id"])
    name = text_from((user.get("name") or {}).get("full")) if isinstance(user.get("name"), Mapping) else ""
    if user_id not in technicians or (name and technicians[user_id].name == user_id):
        technicians[user_id] = Technician(source_id=user_id, name=name or user_id)
    return user_id


def _visit(node: Mapping[str, Any], index: int, zone: str, technicians: dict[str, Technician]) -> Visit:
    where = f"visits[{index}]"
    users = [u for u in (_user(n, technicians) for n in nodes_of(node, "assignedUsers")) if u]
    return Visit(source_id=text_from(node.get("id")) or f"visit-{index}",
                 scheduled_start=time_from(node.get("startAt"), f"{where}.startAt", zone=zone),
                 scheduled_end=time_from(node.get("endAt"), f"{where}.endAt", zone=zone),
                 completed_at=time_from(node.get("completedAt"), f"{where}.completedAt", zone=zone),
                 technician_ids=tuple(users))


def _entry(node: Mapping[str, Any], index: int, zone: str, technicians: dict[str, Technician]) -> TimeEntry | None:
    """A finished time sheet entry as evidence; a running timer (no end yet) is not a fact yet."""
    where = f"timeSheetEntries[{index}]"
    if node.get("ticking"):
        return None
    worker = _user(node.get("user"), technicians)
    if worker is None:
        raise PayloadError(f"{where}.user", "a time sheet entry without a user")
    start = time_from(node.get("startAt"), f"{where}.startAt", zone=zone, required=True)
    end = time_from(node.get("endAt"), f"{where}.endAt", zone=zone)
    if end is None:
        seconds = decimal_from(node.get("finalDuration"), f"{where}.finalDuration")
        end = start + timedelta(seconds=int(seconds))
    if end <= start:
        return None
    return TimeEntry(source_id=text_from(node.get("id")) or f"entry-{index}", technician_id=worker, start=start,
                     end=end, billable=False)


def _line(node: Mapping[str, Any], index: int, job_id: str, tax_rate: str | None) -> LineItem:
    where = f"lineItems[{index}]"
    quantity = decimal_from(node.get("quantity"), f"{where}.quantity")
    price = decimal_from(node.get("unitPrice"), f"{where}.unitPrice")
    total = decimal_from(node.get("totalPrice"), f"{where}.totalPrice", required=False)
    category = text_from(node.get("category")).upper()
    if category not in ("SERVICE", "PRODUCT"):
        raise PayloadError(f"{where}.category", f"{category or '(empty)'!r} is neither SERVICE nor PRODUCT")
    if quantity < 0:
        raise PayloadError(f"{where}.quantity", f"{quantity} is negative")
    if total is not None and round_money(quantity * price) != round_money(total):
        raise PayloadError(f"{where}.totalPrice", f"{total} is not quantity {quantity} × unitPrice {price}")
    kind = LineKind.discount if price < 0 else (LineKind.labour if category == "SERVICE" else LineKind.part)
    name, taxable = text_from(node.get("name")), bool(node.get("taxable", True))
    return LineItem(source_id=text_from(node.get("id")) or f"{job_id}:{index + 1}", kind=kind,
                    description=text_from(node.get("description")) or name or kind.value, quantity=quantity,
                    unit_price=abs(price), unit_cost=decimal_from(node.get("unitCost"), f"{where}.unitCost", required=False),
                    item_code=name or None, taxable=taxable, tax_rate=tax_rate if taxable else None)


def _note(node: Mapping[str, Any], index: int, zone: str) -> Note:
    return Note(author=SOURCE, at=time_from(node.get("createdAt"), f"notes[{index}].createdAt", zone=zone, required=True),
                text=text_from(node.get("message")), source=SOURCE)


def _attachment(node: Mapping[str, Any]) -> Attachment:
    name, media = text_from(node.get("fileName")) or "file", text_from(node.get("contentType")) or "application/octet-stream"
    lowered = name.lower()
    if "signature" in lowered:
        kind = AttachmentKind.signature
    elif media.startswith("image/"):
        kind = (AttachmentKind.photo_before if "before" in lowered
                else AttachmentKind.photo_after if "after" in lowered else AttachmentKind.photo)
    else:
        kind = AttachmentKind.document
    size = node.get("fileSize")
    return Attachment(content_hash=f"jobber-file:{text_from(node.get('id'))}", file_name=name, kind=kind,
                      media_type=media, size_bytes=size if isinstance(size, int) and size >= 0 else 0)
