"""A job deleted at its source: a new version of its work order that says so, for the rules to decide on."""

from __future__ import annotations

from datetime import datetime

from workorders.work_order import Note, WorkOrder, WorkOrderStatus

__all__ = ["deleted_at_source"]


def deleted_at_source(order: WorkOrder, *, at: datetime, system: str, evidence: str) -> WorkOrder | None:
    """The next version of ``order`` with status ``deleted`` and a note naming what said so; None when the
    latest version already is deleted (a repeated delivery changes nothing).

    The rest of the job stays as last seen: before invoicing the rules log a no-invoice decision for it
    (``cancelled_no_invoice``); after invoicing ``not_invoiced_before`` opens a case, since its invoice may have
    to be voided or credited.
    """
    if order.status is WorkOrderStatus.deleted:
        return None
    note = Note(author=system, at=at, text=f"Deleted in {system}: {evidence}"[:2000], source="source_event")
    return order.model_copy(update={"status": WorkOrderStatus.deleted, "updated_at": at,
                                    "notes": (*order.notes, note)})
