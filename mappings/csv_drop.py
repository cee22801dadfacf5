"""CSV job rows (one row per line item, job columns repeated) to a WorkOrder, or a case naming the bad cell.

The format is documented for users in ``docs/csv-format.md``; in short:

* One row per line item; job-level columns repeat on each row of the job (they may be left blank on the
  job's other rows, but where filled they must agree). A row with no line columns is a job-only row.
* Required columns: ``job_id, customer_id, customer_name, job_type, status, updated_at, currency``;
  ``completed_at`` is required once ``status`` is ``completed``.
* Job-level: ``job_number`` (defaults to ``job_id``), ``customer_email, site_name, site_address`` (the street),
  ``site_city, site_region`` (state or province code), ``site_postal_code, site_country`` (where the work was
  done: QuickBooks' Automated Sales Tax taxes the invoice there), ``job_type
  (preventive|corrective|emergency|inspection|general_maintenance|installation), priority
  (low|normal|high|urgent), status (scheduled|in_progress|on_hold|completed|cancelled|deleted), completed_at,
  updated_at, timezone`` (IANA; naive date-times are read in it, else in the company default), ``crew,
  signed_by, signed_at, approved_by, approved_at, po_number, currency`` (ISO 4217, never inferred),
  ``tax`` (the sales tax your system charged for the job, a decimal ≥ 0 in the job's currency: kept as
  ``source_tax`` to compare with the tax the ledger computes, never billed; empty = not reported).
* Per row: ``technician, notes, line_kind (labour|part|material|fee|discount), item_code, description,
  quantity, unit_price, unit_cost, taxable (yes/no, default yes), tax_rate, hours_start, hours_end``. A
  labour row's hours become a time entry; its quantity may be left empty and is then the hours worked.
  ``tax_rate`` is your name for the line's tax rate (``GST``, ``Chicago 10.25%``), which the company's
  mapping tables (``tax_rates``) turn into a ledger tax code; only a taxable line may have one.
* ``billing`` (billable|warranty|no_charge, default billable); ``photos_before``, ``photos_after``: photo
  file names or links, several separated by ``;`` — recorded as attachments by reference.
* A labour row with hours but neither quantity nor unit_price is recorded time only: Closeout bills it from
  the company's rate card (rule ``labour_from_time_entries``).
* ``signed_by``/``signed_at`` become an ``Approval(kind="sign_off")``: a CSV carries no signature image, so
  no signature attachment is invented. ``approved_by``/``approved_at`` become ``Approval(kind="amount")``.
* Numbers are decimal strings (``12.50``, ``1,250.00``); date-times are ISO 8601 (``2026-11-03 14:30``,
  optionally with an offset) and are stored in UTC. Nothing here ever becomes a float.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from mappings.csv_cells import CellReader
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.work_order import (
    Address, Approval, Attachment, AttachmentKind, Billing, Customer, JobType, LineItem, LineKind, Note, Priority, Site, Technician, TimeEntry, WorkOrder,
    WorkOrderStatus,
)

SOURCE = "csv"
REQUIRED = ("job_id", "customer_id", "customer_name", "job_type", "status", "updated_at", "currency")
JOB_LEVEL = (
    "job_number", "customer_id", "customer_name", "customer_email", "site_name", "site_address", "site_city",
    "site_region", "site_postal_code", "site_country", "job_type",
    "priority", "status", "completed_at", "updated_at", "timezone", "crew", "signed_by", "signed_at",
    "approved_by", "approved_at", "po_number", "currency", "billing", "photos_before", "photos_after", "tax",
)
LINE_VALUES = (
    "item_code", "description", "quantity", "unit_price", "unit_cost", "taxable", "tax_rate", "hours_start",
    "hours_end",
)
YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}


def map_csv_job(payload: Mapping[str, Any], *, company: str, default_timezone: str) -> WorkOrder | Anomaly:
    """One CSV job payload (from ``connectors.csv_drop``) to a WorkOrder; any bad cell → one anomaly.

    Never raises for bad input: the anomaly's summary names the file, row and column of the first
    problem, its evidence lists every problem and keeps the raw rows for the person fixing the file. What
    the reader already found (``payload["problems"]``: a row it could not read or decode, a job over the
    size limits; see ``connectors.csv_drop``) comes first, and a row it could not read ends the checks.
    """
    payload = payload if isinstance(payload, Mapping) else {"payload": payload}
    file, rows = str(payload.get("file", "?")), payload.get("rows")
    if not isinstance(rows, list) or not rows or not all(_is_row(r) for r in rows):
        problem = {"row": 0, "column": "", "message": "not a CSV job payload (needs 'file' and 'rows')"}
        return _invalid(payload, company, subject=f"{SOURCE}:{file}", job_id=None, problems=[problem])
    reader = CellReader(rows)
    job_id = str(rows[0]["values"].get("job_id") or "").strip() or None
    subject = f"{SOURCE}:{job_id or file + '#row' + str(reader.first_row)}"
    _reading_problems(reader, payload.get("problems"))
    if any(not entry["values"] for entry in rows):  # a row the reader could not read has nothing more to check
        return _invalid(payload, company, subject=subject, job_id=job_id, problems=reader.problems)
    _check_cells(reader)
    _read_job_values(reader)
    order = None if reader.problems else _build(reader, company=company, default_timezone=default_timezone)
    if order is None:
        return _invalid(payload, company, subject=subject, job_id=job_id, problems=reader.problems)
    return order


def _is_row(row: Any) -> bool:
    return isinstance(row, Mapping) and isinstance(row.get("row"), int) and isinstance(row.get("values"), Mapping)


def _cell(entry: Mapping[str, Any], column: str) -> str:
    return str(entry["values"].get(column) or "").strip()


def _reading_problems(reader: CellReader, problems: Any) -> None:
    """What the reader found before any cell was read (a row too long, not UTF-8 nor the fallback, a job over
    the limits), listed first: the person fixing the file starts there."""
    for problem in problems if isinstance(problems, list) else []:
        if isinstance(problem, Mapping) and isinstance(problem.get("row"), int):
            reader.problem(problem["row"], str(problem.get("column") or ""), str(problem.get("message") or ""))


def _check_cells(reader: CellReader) -> None:
    """The header has the required columns, and every row has exactly the header's cells."""
    header = list(reader.rows[0]["values"])
    for column in REQUIRED:
        if column not in header:
            reader.problem(1, column, "the column is missing from the header")
    for entry in reader.rows:
        short = [column for column, value in entry["values"].items() if value is None]
        if short:
            reader.problem(entry["row"], short[0], f"the row ends before this column ({len(short)} cells short)")
        extra = entry["values"].get("__extra__")
        if extra:
            reader.problem(entry["row"], "(beyond the header)", f"{len(extra)} cells more than the header")


def _read_job_values(reader: CellReader) -> None:
    """Each job-level column's value; blank on some rows is fine, two different values are not."""
    for entry in reader.rows:
        for column in ("job_id", *JOB_LEVEL):
            text = _cell(entry, column)
            if not text:
                continue
            if column not in reader.job:
                reader.job[column], reader.job_row[column] = text, entry["row"]
            elif reader.job[column] != text:
                first = f"row {reader.job_row[column]} ({reader.job[column]!r})"
                reader.problem(entry["row"], column, f"{text!r} disagrees with {first}")
    for column in REQUIRED:
        if column in reader.rows[0]["values"] and not reader.job.get(column):
            reader.problem(reader.first_row, column, "a value is required")


def _build(reader: CellReader, *, company: str, default_timezone: str) -> WorkOrder | None:
    job = reader.job
    zone_name = job.get("timezone") or default_timezone
    try:
        reader.zone = ZoneInfo(zone_name)
    except (ValueError, KeyError, OSError):
        reader.job_problem("timezone", f"{zone_name!r} is not an IANA time zone (like America/Chicago)")
        return None
    job_type, status = reader.job_choice("job_type", JobType), reader.job_choice("status", WorkOrderStatus)
    priority = reader.job_choice("priority", Priority) if job.get("priority") else Priority.normal
    completed_at, updated_at = reader.job_moment("completed_at"), reader.job_moment("updated_at")
    if status is WorkOrderStatus.completed and not job.get("completed_at"):
        reader.job_problem("completed_at", "a completed job needs its completion date-time")
    currency = job["currency"].upper()
    if not (len(currency) == 3 and currency.isalpha()):
        reader.job_problem("currency", f"{job['currency']!r} is not an ISO 4217 code (like USD)")
    billing = reader.job_choice("billing", Billing) if job.get("billing") else Billing.billable
    source_tax = _source_tax(reader)
    approvals = tuple(
        a for a in (_approval(reader, "sign_off", "signed"), _approval(reader, "amount", "approved")) if a
    )
    technicians = _technicians(reader)
    lines, entries = _lines(reader, technicians)
    if reader.problems or None in (job_type, status, priority, updated_at, billing):
        return None
    try:
        return WorkOrder(
            source=SOURCE, external_id=job["job_id"], job_number=job.get("job_number") or job["job_id"],
            company=company, job_type=job_type, priority=priority, status=status, currency=currency,
            customer=Customer(source_id=job["customer_id"], name=job["customer_name"], email=job.get("customer_email")),
            site=Site(name=job.get("site_name", ""), timezone=zone_name,
                      address=Address(line1=job.get("site_address", ""), city=job.get("site_city", ""),
                                      region=job.get("site_region", ""), postal_code=job.get("site_postal_code", ""),
                                      country=job.get("site_country", ""))),
            technicians=technicians, time_entries=entries, line_items=lines, approvals=approvals, billing=billing,
            attachments=_photos(job),
            notes=_notes(reader, completed_at or updated_at), po_number=job.get("po_number"), source_tax=source_tax,
            completed_at=completed_at, updated_at=updated_at,
        )
    except ValidationError as exc:  # the checks above should leave nothing for the model to refuse
        for error in exc.errors():
            reader.problem(reader.first_row, ".".join(str(p) for p in error["loc"]), error["msg"])
        return None


def _source_tax(reader: CellReader) -> Decimal | None:
    """The job's ``tax`` cell: what the source charged, compared later with the ledger's tax; None when empty."""
    value = reader.job_number("tax")
    if value is not None and value < 0:
        reader.job_problem("tax", f"{reader.job['tax']!r} is negative; the tax charged on a job is zero or more")
        return None
    return value


def _approval(reader: CellReader, kind: str, prefix: str) -> Approval | None:
    """``<prefix>_by`` and ``<prefix>_at`` together make one approval; one without the other is a mistake."""
    by, at = reader.job.get(f"{prefix}_by"), reader.job_moment(f"{prefix}_at")
    if not by and f"{prefix}_at" not in reader.job:
        return None
    if not by or f"{prefix}_at" not in reader.job:
        missing = f"{prefix}_by" if not by else f"{prefix}_at"
        reader.job_problem(missing, f"{prefix}_by and {prefix}_at go together; this one is empty")
        return None
    return Approval(kind=kind, approved_by=by, approved_at=at) if at else None


def _photos(job: dict[str, str]) -> tuple[Attachment, ...]:
    """Photos named in the CSV, by reference: the hash identifies the reference, the image stays where it is."""
    found = []
    for column, kind in (("photos_before", AttachmentKind.photo_before), ("photos_after", AttachmentKind.photo_after)):
        for name in (part.strip() for part in job.get(column, "").split(";")):
            if name:
                digest = hashlib.sha256(f"csv-photo:{name}".encode()).hexdigest()
                found.append(Attachment(content_hash=digest, file_name=name, kind=kind, media_type="text/uri-list"))
    return tuple(found)


def _technicians(reader: CellReader) -> tuple[Technician, ...]:
    names = dict.fromkeys(name for entry in reader.rows if (name := _cell(entry, "technician")))
    crew = reader.job.get("crew") or None
    return tuple(Technician(source_id=_slug(name), name=name, crew=crew) for name in names)


def _lines(reader: CellReader, technicians: tuple[Technician, ...]) -> tuple[tuple[LineItem, ...], tuple[TimeEntry, ...]]:
    """One line per row with a line_kind; a labour row's hours are also a time entry of its technician."""
    lines: list[LineItem] = []
    entries: list[TimeEntry] = []
    for entry in reader.rows:
        row, values = entry["row"], {column: _cell(entry, column) for column in ("line_kind", *LINE_VALUES)}
        if not values["line_kind"]:
            filled = [column for column in LINE_VALUES if values[column]]
            if filled:
                reader.problem(row, "line_kind", f"empty, but the row has line values ({', '.join(filled)})")
            continue
        kind = reader.choice(row, "line_kind", values["line_kind"], LineKind)
        source_id = f"{reader.job.get('job_id')}:{len(lines) + 1}"
        span = _hours(reader, row, values, kind)
        time_only = bool(span) and not values["quantity"] and not values["unit_price"]
        if time_only:  # recorded time only: no line here, billed from the rate card by the rules
            source_id = f"{reader.job.get('job_id')}:time:{row}"
        if span:
            worker = _slug(_cell(entry, "technician")) if _cell(entry, "technician") else None
            worker = worker or (technicians[0].source_id if technicians else None)
            if worker is None:
                reader.problem(row, "technician", "hours were given but no technician worked them")
            else:
                entries.append(TimeEntry(source_id=source_id, technician_id=worker, start=span[0], end=span[1]))
        if time_only:
            if values["tax_rate"]:  # the rate card's line is made later, by the rules: nothing here would keep it
                reader.problem(row, "tax_rate", "recorded time only (no quantity, no unit_price) has no line to tax")
            continue
        line = _line(reader, row, values, kind, source_id, span)
        if line is not None:
            lines.append(line)
    return tuple(lines), tuple(entries)


Span = tuple[datetime, datetime]


def _hours(reader: CellReader, row: int, values: dict[str, str], kind: LineKind | None) -> Span | None:
    """The labour row's (start, end), or None: no hours, hours on another kind of row, or bad hours."""
    given_start, given_end = values["hours_start"], values["hours_end"]
    if not given_start and not given_end:
        return None
    if kind is not LineKind.labour:
        if kind is not None:
            reader.problem(row, "hours_start", "hours belong on labour rows only")
        return None
    if not given_start or not given_end:
        reader.problem(row, "hours_end" if given_start else "hours_start", "hours need both a start and an end")
        return None
    start, end = reader.moment(row, "hours_start", given_start), reader.moment(row, "hours_end", given_end)
    if start and end and end <= start:
        reader.problem(row, "hours_end", f"{given_end!r} is not after hours_start {given_start!r}")
    return (start, end) if start and end and end > start else None


def _line(
    reader: CellReader, row: int, values: dict[str, str], kind: LineKind | None, source_id: str, span: Span | None
) -> LineItem | None:
    quantity = reader.number(row, "quantity", values["quantity"])
    if not values["quantity"]:
        if span is None:
            reader.problem(row, "quantity", "a line needs a quantity (labour may give hours_start and hours_end)")
        else:
            hours = Decimal(int((span[1] - span[0]).total_seconds())) / 3600
            quantity = hours.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    price = reader.number(row, "unit_price", values["unit_price"])
    cost = reader.number(row, "unit_cost", values["unit_cost"])
    taxable = values["taxable"].lower() or "yes"
    if taxable not in YES | NO:
        reader.problem(row, "taxable", f"{values['taxable']!r} is not yes or no")
    if values["tax_rate"] and taxable in NO:
        reader.problem(row, "tax_rate", f"{values['tax_rate']!r} is given, but the line is not taxable")
    if quantity is not None and quantity < 0:
        reader.problem(row, "quantity", f"{values['quantity']!r} is negative; a reduction is a discount line")
    if price is not None and price < 0 and kind is not LineKind.discount:
        reader.problem(row, "unit_price", f"{values['unit_price']!r} is negative; a reduction is a discount line")
    if kind is None or quantity is None or reader.problems:
        return None
    return LineItem(
        source_id=source_id, kind=kind, description=values["description"] or values["item_code"] or kind.value,
        quantity=quantity, unit_price=abs(price) if price is not None and kind is LineKind.discount else price,
        unit_cost=cost, item_code=values["item_code"] or None, taxable=taxable in YES,
        tax_rate=values["tax_rate"] or None,
        service_date=span[0].astimezone(reader.zone).date() if span else None,
    )


def _notes(reader: CellReader, at: datetime | None) -> tuple[Note, ...]:
    """Each distinct note once, in row order, written by the row's technician when there is one."""
    seen: dict[str, str] = {}
    for entry in reader.rows:
        text = _cell(entry, "notes")
        if text and text not in seen:
            seen[text] = _cell(entry, "technician") or SOURCE
    return tuple(Note(author=author, at=at, text=text, source=SOURCE) for text, author in seen.items()) if at else ()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unnamed"


def _invalid(
    payload: Mapping[str, Any], company: str, *, subject: str, job_id: str | None, problems: list[dict[str, Any]]
) -> Anomaly:
    first = problems[0]
    if first["column"]:
        where = f"{payload.get('file', '?')} row {first['row']}, column {first['column']}"
    else:  # a problem with the whole row (or, at row 0, the whole payload)
        where = f"{payload.get('file', '?')} row {first['row']}" if first["row"] else "payload"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return Anomaly(
        code=AnomalyCode.source_payload_invalid, subject=subject, company=company,
        summary=f"{where}: {first['message']}{more}",
        evidence={"file": payload.get("file"), "problems": problems, "rows": payload.get("rows")},
        work_order_id=f"{SOURCE}:{job_id}" if job_id else None, suggested_actions=("fix_at_source",),
    )
