"""A ServiceTitan job with its appointments, assignments, invoices, customer and location to a WorkOrder, or a case.

Decisions, each with its reason:

* Invoice money and quantities are decimal *strings*: read as exact Decimals. An item's ``total`` must equal
  quantity × price to the cent, else the job is a case. Items of every invoice of the job are billed.
* Item types: Service → labour (a priced task), Material → material, Equipment → part, PriceModifier →
  discount when negative, fee otherwise.
* Tax is the ledger's to compute, from tax codes. What ServiceTitan charged is kept to compare with:
  ``source_tax`` is the sum of the job's invoices' ``salesTax`` (None when no invoice reports one), and each
  non-zero ``salesTax`` is also a note. ServiceTitan has no tax rate per item, only ``taxable`` and one
  ``salesTaxCode`` per invoice: its ``name`` is the ``tax_rate`` of that invoice's taxable items.
* ``jobStatus``: Scheduled/Dispatched → scheduled, InProgress/Working → in_progress, Hold → on_hold,
  Completed → completed, Canceled → cancelled.
* Deletions. ServiceTitan's transactional list leaves deleted jobs out; its export feed
  (``jpm/v2/tenant/{tenant}/export/jobs``) "returns active, inactive and deleted" rows (shared/reference/
  sources.md §3 [32], developer.servicetitan.io/docs/transactional-and-export-apis). How a deleted row differs
  from a live one is not documented there; ServiceTitan's records carry ``active`` (customers, locations), so
  the connector lands an export row that says ``active: false``, and one with no usable ``active`` flag
  whose job ``GET jobs/{id}`` answers 404 (``jobRead: not_found``), as ``{"exportRow": row[, "jobRead": …]}``.
  Such a payload maps to a ``workorders.deletions.SourceDeletion`` dated by the row's ``modifiedOn`` (intake
  turns it into a ``deleted`` version, as for Jobber's ``JOB_DESTROY``); an export row that says neither is a
  case, never a guess. A job of the transactional list that says ``active: false`` is a deletion too: treating it
  as live could bill a job ServiceTitan has dropped.
* Visits are the appointments; each visit's technicians are the assignments to it.
* A merged customer or location (``mergedToId``) was followed by the connector: the work order carries the
  surviving record, and a note names the merged ids so nobody wonders where the old id went.
* ServiceTitan documents every time as UTC; a time without a zone is still read in the company's zone,
  the rule for all sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mappings.source_values import PayloadError, decimal_from, map_or_case, text_from, time_from
from workorders.anomalies import Anomaly
from workorders.deletions import SourceDeletion
from workorders.money import round_money
from workorders.work_order import (
    Address, Customer, JobType, LineItem, LineKind, Note, Site, Technician, Visit, WorkOrder, WorkOrderStatus,
)

SOURCE = "servicetitan"
SYSTEM = "ServiceTitan"
EXPORT_ROW = "exportRow"
"""The key of a jobs export feed row in a payload the connector landed for a deletion."""
STATUSES = {
    "scheduled": WorkOrderStatus.scheduled, "dispatched": WorkOrderStatus.scheduled,
    "inprogress": WorkOrderStatus.in_progress, "working": WorkOrderStatus.in_progress,
    "hold": WorkOrderStatus.on_hold, "completed": WorkOrderStatus.completed, "canceled": WorkOrderStatus.cancelled,
}
KINDS = {"service": LineKind.labour, "material": LineKind.material, "equipment": LineKind.part}


def map_servicetitan_job(
    payload: Mapping[str, Any], *, company: str, default_timezone: str, currency: str = "USD"
) -> WorkOrder | SourceDeletion | Anomaly:
    """A work order, or for a job ServiceTitan deleted a ``SourceDeletion`` (see the module's "Deletions").

    Never raises for bad input: any unreadable field gives one anomaly naming it, with the payload kept.
    """
    if isinstance(payload, Mapping) and EXPORT_ROW in payload:
        def deletion(row: Mapping[str, Any], external_id: str) -> SourceDeletion:
            return _exported_deletion(payload, row, external_id, zone=default_timezone)

        return map_or_case(payload, deletion, source=SOURCE, company=company, job_key=EXPORT_ROW,
                           no_id=(f"{EXPORT_ROW}.id", "a jobs export row without a job id"))

    def build(job: Mapping[str, Any], external_id: str) -> WorkOrder | SourceDeletion:
        if job.get("active") is False:
            return _deletion(job, external_id, zone=default_timezone,
                             said=f"the jobs list answered job {_number(job, external_id)} with active: false")
        return _build(payload, job, external_id, company=company, zone=default_timezone, currency=currency)

    return map_or_case(payload, build, source=SOURCE, company=company, job_key="job",
                       no_id=("job.id", "not a ServiceTitan job (no job id)"))


def _exported_deletion(payload: Mapping[str, Any], row: Mapping[str, Any], external_id: str, *,
                       zone: str) -> SourceDeletion:
    number = _number(row, external_id)
    if row.get("active") is False:
        said = f"its jobs export feed lists job {number} as inactive (active: false)"
    elif not isinstance(row.get("active"), bool) and payload.get("jobRead") == "not_found":
        said = (f"its jobs export feed lists job {number} without an active flag and GET jobs/{external_id} "
                "answers 404")
    else:
        raise PayloadError(f"{EXPORT_ROW}.active", f"{row.get('active')!r}: the export row does not say the job "
                           "was deleted, so nothing is deleted on a guess")
    return _deletion(row, external_id, zone=zone, said=said)


def _deletion(job: Mapping[str, Any], external_id: str, *, zone: str, said: str) -> SourceDeletion:
    try:
        at = time_from(job.get("modifiedOn"), "modifiedOn", zone=zone)
    except PayloadError:
        at = None  # the deletion matters more than its date: intake dates it when it was read
    return SourceDeletion(source=SOURCE, external_id=external_id, system=SYSTEM, evidence=said, at=at)


def _number(job: Mapping[str, Any], external_id: str) -> str:
    return text_from(job.get("jobNumber")) or external_id


def _list(payload: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = payload.get(name)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _build(payload: Mapping[str, Any], job: Mapping[str, Any], external_id: str, *, company: str, zone: str,
           currency: str) -> WorkOrder:
    updated_at = time_from(job.get("modifiedOn"), "job.modifiedOn", zone=zone, required=True)
    completed_at = time_from(job.get("completedOn"), "job.completedOn", zone=zone)
    raw_status = "".join(text_from(job.get("jobStatus")).lower().split())
    if raw_status not in STATUSES:
        raise PayloadError("job.jobStatus", f"{text_from(job.get('jobStatus')) or '(empty)'!r} is not a ServiceTitan "
                           "job status Closeout knows")
    status = STATUSES[raw_status]
    if status is WorkOrderStatus.completed and completed_at is None:
        raise PayloadError("job.completedOn", "the job is completed but has no completion time")
    assignments = _list(payload, "assignments")
    technicians = {text_from(a.get("technicianId")): Technician(source_id=text_from(a.get("technicianId")),
                                                                 name=text_from(a.get("technicianName")) or "?")
                   for a in assignments if a.get("technicianId") is not None}
    visits = tuple(
        Visit(source_id=text_from(a.get("id")) or f"{external_id}:{i}",
              scheduled_start=time_from(a.get("start"), f"appointments[{i}].start", zone=zone),
              scheduled_end=time_from(a.get("end"), f"appointments[{i}].end", zone=zone),
              completed_at=(time_from(a.get("end"), f"appointments[{i}].end", zone=zone)
                            if text_from(a.get("status")).lower() == "done" else None),
              technician_ids=tuple(text_from(s.get("technicianId")) for s in assignments
                                   if text_from(s.get("appointmentId")) == text_from(a.get("id"))))
        for i, a in enumerate(_list(payload, "appointments")))
    lines, notes, taxes = [], [], []
    for n, invoice in enumerate(_list(payload, "invoices")):
        rate = _tax_code_name(invoice.get("salesTaxCode"), f"invoices[{n}].salesTaxCode")
        for i, item in enumerate(invoice.get("items") or []):
            lines.append(_line(item, f"invoices[{n}].items[{i}]", text_from(invoice.get("id")), rate))
        tax = decimal_from(invoice.get("salesTax"), f"invoices[{n}].salesTax", required=False)
        if tax is not None:
            taxes.append(tax)
        if tax:
            notes.append(Note(author=SOURCE, at=updated_at, source=SOURCE,
                              text=f"source sales tax {tax} on invoice {text_from(invoice.get('referenceNumber'))} "
                                   "(left to the ledger's tax code)"))
    customer, location = payload.get("customer"), payload.get("location")
    for label, record in (("customer", customer), ("location", location)):
        if isinstance(record, Mapping) and record.get("mergedFrom"):
            merged = ", ".join(str(m) for m in record["mergedFrom"])
            notes.append(Note(author=SOURCE, at=updated_at, source=SOURCE,
                              text=f"{label} {merged} was merged into {text_from(record.get('id'))}"))
    return WorkOrder(
        source=SOURCE, external_id=external_id, job_number=text_from(job.get("jobNumber")) or external_id,
        company=company, customer=_customer(customer, job), site=_site(location, zone), job_type=_job_type(job),
        status=status, scope=text_from(job.get("summary")), visits=visits, technicians=tuple(technicians.values()),
        line_items=tuple(lines), notes=tuple(notes), currency=currency,
        source_tax=sum(taxes, Decimal(0)) if taxes else None, completed_at=completed_at, updated_at=updated_at,
    )


def _tax_code_name(value: Any, where: str) -> str | None:
    """The name of an invoice's ``salesTaxCode``; None when the invoice has none."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise PayloadError(where, f"{value!r} is not a tax code object")
    return text_from(value.get("name")) or None


def _job_type(job: Mapping[str, Any]) -> JobType:
    summary = text_from(job.get("summary")).lower()
    for word, job_type in (("install", JobType.installation), ("inspect", JobType.inspection),
                           ("maint", JobType.preventive), ("emergency", JobType.emergency)):
        if word in summary:
            return job_type
    return JobType.corrective


def _address(value: Any) -> Address:
    a = value if isinstance(value, Mapping) else {}
    return Address(line1=text_from(a.get("street")), line2=text_from(a.get("unit")), city=text_from(a.get("city")),
                   region=text_from(a.get("state")), postal_code=text_from(a.get("zip")),
                   country=text_from(a.get("country")))


def _customer(value: Any, job: Mapping[str, Any]) -> Customer:
    if not isinstance(value, Mapping) or value.get("id") is None:
        raise PayloadError("customer", f"customer {job.get('customerId')!r} of the job could not be read")
    if not text_from(value.get("name")):
        raise PayloadError("customer.name", "the customer has no name")
    return Customer(source_id=text_from(value["id"]), name=text_from(value["name"]),
                    billing_address=_address(value.get("address")))


def _site(value: Any, zone: str) -> Site:
    if not isinstance(value, Mapping):
        return Site(timezone=zone)
    return Site(source_id=text_from(value.get("id")), name=text_from(value.get("name")),
                address=_address(value.get("address")), timezone=zone)


def _line(item: Any, where: str, invoice_id: str, tax_rate: str | None) -> LineItem:
    if not isinstance(item, Mapping):
        raise PayloadError(where, "not an object")
    quantity = decimal_from(item.get("quantity"), f"{where}.quantity")
    price = decimal_from(item.get("price"), f"{where}.price")
    total = decimal_from(item.get("total"), f"{where}.total", required=False)
    kind_text = text_from(item.get("type")).lower()
    if kind_text == "pricemodifier":
        kind = LineKind.discount if (total if total is not None else price) < 0 else LineKind.fee
    elif kind_text in KINDS:
        kind = KINDS[kind_text]
    else:
        raise PayloadError(f"{where}.type", f"{text_from(item.get('type')) or '(empty)'!r} is not an item type "
                           "Closeout knows")
    if total is not None and round_money(quantity * price) != round_money(total):
        raise PayloadError(f"{where}.total", f"{total} is not quantity {quantity} × price {price}")
    if quantity < 0 or (price < 0 and kind is not LineKind.discount):
        raise PayloadError(where, "a negative quantity or price on a line that is not a discount")
    service_date = time_from(item.get("serviceDate"), f"{where}.serviceDate", zone="UTC")
    taxable = bool(item.get("taxable", True))
    return LineItem(source_id=f"{invoice_id}:{text_from(item.get('id'))}", kind=kind,
                    description=text_from(item.get("description")) or text_from(item.get("skuName")) or kind.value,
                    quantity=quantity, unit_price=abs(price),
                    unit_cost=decimal_from(item.get("cost"), f"{where}.cost", required=False),
                    item_code=text_from(item.get("skuName")) or None, taxable=taxable,
                    tax_rate=tax_rate if taxable else None,
                    service_date=service_date.date() if service_date else None)
