"""A job deleted at its source: a new version of its work order that says so, for the rules to decide on.

Every source's deletion goes through here, whatever said it: Jobber's ``JOB_DESTROY`` (a webhook named a job
its API no longer has, ``services.intake.pull_job``) and a row of ServiceTitan's jobs export feed
(``mappings.servicetitan``, which answers a ``SourceDeletion`` for it). Intake applies a ``SourceDeletion`` to
the work order's latest version with ``SourceDeletion.applied_to``; that calls ``deleted_at_source``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workorders.work_order import Note, WorkOrder, WorkOrderStatus

__all__ = ["SourceDeletion", "deleted_at_source"]


@dataclass(frozen=True)
class SourceDeletion:
    """A source's word that one of its jobs is deleted: what a mapping answers for a deletion record.

    ``system`` is the source's name as people read it (``ServiceTitan``); ``evidence`` says what said so, in
    words that end up in the deleted version's note. ``at`` is when the source dates the change, None when it
    does not say (a webhook naming a job that is gone): then the time it was read is used.
    """

    source: str
    external_id: str
    system: str
    evidence: str
    at: datetime | None = None

    @property
    def work_order_id(self) -> str:
        return f"{self.source}:{self.external_id}"

    def applied_to(self, order: WorkOrder, *, now: datetime) -> WorkOrder | None:
        """The deleted version of ``order`` (the latest version held), or None when nothing changes.

        Nothing changes when the job is deleted already (a repeated delivery, an export row read twice), and
        when the source dated the deletion before the version held: that version was read after the job came
        back, so the deletion is history, not news (an export feed with ``includeRecentChanges`` repeats
        rows). Equal times apply: a source that does not move a job's modified time when deleting it still
        gets its deletion through.
        """
        if self.at is not None and self.at < order.updated_at:
            return None
        return deleted_at_source(order, at=self.at or now, system=self.system, evidence=self.evidence)


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
