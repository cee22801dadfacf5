"""Correction steps: one row per ledger operation of a correction, claimed so no step is ever sent twice at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.tables import corrections, insert_for
from workorders.correction_plan import StepKind
from workorders.correction_steps import CorrectionRecord, CorrectionStatus, CorrectionStep
from workorders.drafts import InvoiceDraft

_c = corrections
_CLAIMABLE = (CorrectionStatus.planned.value, CorrectionStatus.uncertain.value)


def _draft(value: Any) -> InvoiceDraft | None:
    return InvoiceDraft.model_validate(value) if value else None


def to_correction_record(row: Mapping[str, Any]) -> CorrectionRecord:
    step = CorrectionStep(
        key=row["key"], request_key=row["request_key"], kind=StepKind(row["kind"]), company=row["company"],
        ledger=row["ledger"], work_order_id=row["work_order_id"], from_version=row["from_version"],
        to_version=row["to_version"], doc_number=row["doc_number"], invoice_ledger_id=row["invoice_ledger_id"],
        amount=row["amount"], draft=_draft(row["draft"]), target=_draft(row["target"]))
    return CorrectionRecord(step=step, status=CorrectionStatus(row["status"]), ledger_id=row["ledger_id"],
                            ledger_total=row["ledger_total"], attempts=row["attempts"], last_error=row["last_error"],
                            case_id=row["case_id"], actor=row["actor"], updated_at=row["updated_at"])


class SqlCorrections:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def record(self, steps: Sequence[CorrectionStep], *, case_id: int | None, actor: str) -> None:
        """Record each step as planned; a step already recorded (same key) is left as it is, whatever its state."""
        now = self._clock()
        for step in steps:
            self._session.execute(
                insert_for(self._session, _c).values(
                    key=step.key, request_key=step.request_key, kind=step.kind.value, company=step.company,
                    ledger=step.ledger, work_order_id=step.work_order_id, from_version=step.from_version,
                    to_version=step.to_version, doc_number=step.doc_number,
                    invoice_ledger_id=step.invoice_ledger_id, amount=step.amount,
                    draft=step.draft.model_dump(mode="json") if step.draft else None,
                    target=step.target.model_dump(mode="json") if step.target else None,
                    status=CorrectionStatus.planned.value, attempts=0, last_error="", case_id=case_id,
                    actor=actor[:128], created_at=now, updated_at=now)
                .on_conflict_do_nothing(index_elements=[_c.c.key]))

    def claim(self, keys: Sequence[str], *, stale_after: timedelta) -> list[CorrectionRecord]:
        """Move these steps, when planned, uncertain, or sending for longer than ``stale_after`` (their worker
        died), to ``sending`` and return them with their attempt counted.

        One conditional UPDATE decides: on PostgreSQL a second worker's UPDATE waits for the first and then
        finds the row ``sending``, so two workers never both send one step.
        """
        if not keys:
            return []
        now = self._clock()
        claimable = sa.or_(_c.c.status.in_(_CLAIMABLE),
                           sa.and_(_c.c.status == CorrectionStatus.sending.value, _c.c.updated_at < now - stale_after))
        rows = self._session.execute(
            sa.update(_c).where(_c.c.key.in_(list(keys)), claimable)
            .values(status=CorrectionStatus.sending.value, attempts=_c.c.attempts + 1, updated_at=now)
            .returning(*_c.c)).mappings().all()
        order = {key: i for i, key in enumerate(keys)}
        return sorted((to_correction_record(row) for row in rows), key=lambda r: order[r.step.key])

    def finish(self, key: str, status: CorrectionStatus, *, ledger_id: str | None = None,
               ledger_total: Decimal | None = None, error: str = "") -> None:
        """Set a claimed step's outcome; a step already done stays done."""
        self._session.execute(
            sa.update(_c).where(_c.c.key == key, _c.c.status != CorrectionStatus.done.value)
            .values(status=status.value, ledger_id=ledger_id, ledger_total=ledger_total, last_error=error[:2000],
                    updated_at=self._clock()))

    def get(self, keys: Sequence[str]) -> list[CorrectionRecord]:
        rows = self._session.execute(sa.select(_c).where(_c.c.key.in_(list(keys)))).mappings()
        order = {key: i for i, key in enumerate(keys)}
        return sorted((to_correction_record(row) for row in rows), key=lambda r: order[r.step.key])

    def for_work_orders(self, work_order_ids: Sequence[str]) -> dict[str, list[CorrectionRecord]]:
        """Each order's steps, oldest first (orders without any left out)."""
        found: dict[str, list[CorrectionRecord]] = {}
        for start in range(0, len(work_order_ids), 500):
            chunk = list(work_order_ids[start:start + 500])
            rows = self._session.execute(sa.select(_c).where(_c.c.work_order_id.in_(chunk))
                                         .order_by(_c.c.created_at, _c.c.key)).mappings()
            for row in rows:
                found.setdefault(row["work_order_id"], []).append(to_correction_record(row))
        return found

    def for_work_order(self, work_order_id: str) -> list[CorrectionRecord]:
        return self.for_work_orders([work_order_id]).get(work_order_id, [])

    def all(self, *, status: CorrectionStatus | None = None) -> list[CorrectionRecord]:
        query = sa.select(_c).order_by(_c.c.created_at, _c.c.key)
        if status is not None:
            query = query.where(_c.c.status == status.value)
        return [to_correction_record(row) for row in self._session.execute(query).mappings()]
