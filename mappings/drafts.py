"""A work order version that passed every rule, as an invoice draft for one ledger, or the mapping it lacks."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mappings.company_tables import MappingTables
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.drafts import DraftLine, InvoiceDraft
from workorders.work_order import Address, LineItem, LineKind, WorkOrder

DOC_NUMBER_LIMIT = 21
"""QuickBooks Online's DocNumber limit; Xero allows more, but one doc number per job across ledgers is simpler."""


def build_draft(order: WorkOrder, *, tables: MappingTables, ledger: str) -> InvoiceDraft | Anomaly:
    """The invoice one ledger should receive for ``order``, or one anomaly naming every missing mapping.

    ``order`` is the order as the rules left it (``Evaluation.order``: labour lines from time entries
    included), so the draft bills exactly what the decisions explain. Discount lines get a negative unit price, so the draft's total equals ``order.subtotal``. Call it only
    for orders the rules found ready; a line without a price is still answered with an anomaly, not a crash.
    """
    unpriced = [line.source_id for line in order.line_items if line.unit_price is None]
    if unpriced:
        return _anomaly(order, ledger, AnomalyCode.rule_blocked, f"lines without a price: {', '.join(unpriced)}",
                        evidence={"unpriced": unpriced}, actions=("fix_at_source",))
    missing = _missing_mappings(order, tables)
    if missing:
        summary = f"{order.company}/{ledger}: job {order.job_number} cannot be drafted: "
        return _anomaly(order, ledger, AnomalyCode.missing_mapping, summary + "; ".join(map(_describe, missing)),
                        evidence={"company": order.company, "ledger": ledger, "missing": missing},
                        actions=("add_mapping",))
    doc_number = f"{tables.doc_number_prefix}{order.job_number}"
    if len(doc_number) > DOC_NUMBER_LIMIT:
        summary = f"doc number {doc_number!r} is {len(doc_number)} characters; QuickBooks allows {DOC_NUMBER_LIMIT}"
        return _anomaly(order, ledger, AnomalyCode.source_payload_invalid, summary,
                        evidence={"doc_number": doc_number, "prefix": tables.doc_number_prefix},
                        actions=("fix_at_source", "edit_mapping"))
    txn_date = local_date(order)
    due_days = tables.due_days_for(order.customer.source_id)
    tracking = tuple(filter(None, [tables.tracking.get(order.job_type.value)]))
    return InvoiceDraft(
        company=order.company, ledger=ledger, work_order_id=order.id, work_order_version=order.version,
        customer_name=order.customer.name, customer_email=order.customer.email,
        customer_ref=tables.customers.get(order.customer.source_id), doc_number=doc_number, txn_date=txn_date,
        currency=order.currency, memo=_memo(order), po_number=order.po_number,
        lines=tuple(_draft_line(line, tables, txn_date, tracking) for line in order.line_items),
        attachment_hashes=tuple(dict.fromkeys(a.content_hash for a in order.attachments)),
        due_date=txn_date + timedelta(days=due_days) if due_days is not None else None,
        sales_term_ref=tables.sales_term_ref or None,
        bill_to=_address(order.customer.billing_address), ship_to=_address(order.site.address),
        class_ref=tables.classes.get(order.job_type.value),
        department_ref=tables.department_for(order.site.source_id), source_tax=order.source_tax,
    )


def _address(address: Address) -> Address | None:
    return address if address != Address() else None


def local_date(order: WorkOrder) -> date:
    """The day the work was finished where it was done: a 9 pm job in Chicago is not billed on the UTC date."""
    moment = order.completed_at or order.updated_at
    try:
        zone = ZoneInfo(order.site.timezone)
    except (ValueError, KeyError, OSError):
        zone = UTC  # mappings validate zones; a source that did not still gets a date rather than a crash
    return moment.astimezone(zone).date()


def _missing_mappings(order: WorkOrder, tables: MappingTables) -> list[dict[str, Any]]:
    """Each missing table key once, with every line that needs it.

    An item code missing from ``items`` is also satisfied by its kind's default, and the entry says so.
    """
    missing: dict[tuple[str, str], dict[str, Any]] = {}

    def need(table: str, key: str, line: LineItem, **extra: str) -> None:
        entry = missing.setdefault((table, key), {"table": table, "key": key, **extra, "lines": []})
        entry["lines"].append({"line": line.source_id, "kind": line.kind.value, "description": line.description})

    for line in order.line_items:
        if tables.item_for(line.item_code, line.kind) is None:
            if line.item_code:
                need("items", line.item_code, line, or_default_for_kind=line.kind.value)
            else:
                need("default_items", line.kind.value, line)
        if tables.tax_code_for(line.taxable, line.tax_rate) is None:
            need("tax_codes", "taxable" if line.taxable else "exempt", line)
    return list(missing.values())


def _describe(entry: dict[str, Any]) -> str:
    lines = ", ".join(f"{line['line']} {line['description']!r}" for line in entry["lines"])
    if entry["table"] == "items":
        kind = entry["or_default_for_kind"]
        what = f"item code {entry['key']!r} is not in items and kind {kind!r} has no default_items entry"
    else:
        what = f"{entry['table']} has no entry {entry['key']!r}"
    return f"{what} (line {lines})"


def _draft_line(line: LineItem, tables: MappingTables, txn_date: date, tracking: tuple[str, ...]) -> DraftLine:
    price = line.unit_price if line.unit_price is not None else 0
    return DraftLine(
        description=line.description, quantity=line.quantity,
        unit_price=-abs(price) if line.kind is LineKind.discount else price,
        item_ref=tables.item_for(line.item_code, line.kind) or "",
        income_account=tables.income_accounts.get(line.kind.value),
        tax_code=tables.tax_code_for(line.taxable, line.tax_rate) or "", taxable=line.taxable,
        service_date=line.service_date or txn_date, kind=line.kind.value, tracking=tracking,
    )


def _memo(order: WorkOrder) -> str:
    parts = [f"Job {order.job_number}"]
    if order.site.name:
        parts.append(f"site {order.site.name}")
    if order.po_number:
        parts.append(f"PO {order.po_number}")
    return "; ".join(parts)


def _anomaly(
    order: WorkOrder, ledger: str, code: AnomalyCode, summary: str, *,
    evidence: dict[str, Any], actions: tuple[str, ...],
) -> Anomaly:
    return Anomaly(
        code=code, subject=f"{order.id}@v{order.version}:{ledger}", company=order.company, summary=summary,
        evidence=evidence, work_order_id=order.id, work_order_version=order.version, suggested_actions=actions,
    )
