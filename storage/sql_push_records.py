"""Push records: one row per draft and ledger, claimed by workers so no draft is ever sent twice at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.column_types import Money
from storage.tables import insert_for, push_records
from workorders.drafts import InvoiceDraft
from workorders.payments import PaymentReading
from workorders.push import PushRecord, PushStatus

_p = push_records
CLAIMABLE = (PushStatus.ready.value, PushStatus.uncertain.value)
_ORDER = (_p.c.created_at, _p.c.idempotency_key)


def to_push_record(row: Mapping[str, Any]) -> PushRecord:
    return PushRecord(
        idempotency_key=row["idempotency_key"],
        company=row["company"],
        ledger=row["ledger"],
        work_order_id=row["work_order_id"],
        work_order_version=row["work_order_version"],
        doc_number=row["doc_number"],
        amount=row["amount"],
        status=PushStatus(row["status"]),
        draft=InvoiceDraft.model_validate(row["draft"]),
        ledger_id=row["ledger_id"],
        ledger_tax=row["ledger_tax"],
        ledger_total=row["ledger_total"],
        payment_state=row["payment_state"],
        ledger_balance=row["ledger_balance"],
        payment_read_at=row["payment_read_at"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        updated_at=row["updated_at"],
    )


class SqlPushRecords:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def add_ready(self, draft: InvoiceDraft) -> PushRecord:
        """Record the draft as ready; the same idempotency key again returns the first record untouched."""
        now = self._clock()
        self._session.execute(
            insert_for(self._session, _p)
            .values(
                idempotency_key=draft.idempotency_key,
                company=draft.company,
                ledger=draft.ledger,
                work_order_id=draft.work_order_id,
                work_order_version=draft.work_order_version,
                doc_number=draft.doc_number,
                amount=draft.total,
                status=PushStatus.ready.value,
                draft=draft.model_dump(mode="json"),
                ledger_id=None,
                attempts=0,
                last_error="",
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[_p.c.idempotency_key])
        )
        row = self._session.execute(sa.select(_p).where(_p.c.idempotency_key == draft.idempotency_key)).mappings()
        return to_push_record(row.one())

    def add_ready_many(self, drafts: Sequence[InvoiceDraft]) -> None:
        """``add_ready`` for a batch of drafts in one multi-row insert; a key already recorded is left untouched."""
        if not drafts:
            return
        now = self._clock()
        rows = [{"idempotency_key": d.idempotency_key, "company": d.company, "ledger": d.ledger,
                 "work_order_id": d.work_order_id, "work_order_version": d.work_order_version,
                 "doc_number": d.doc_number, "amount": d.total, "status": PushStatus.ready.value,
                 "draft": d.model_dump(mode="json"), "ledger_id": None, "attempts": 0, "last_error": "",
                 "created_at": now, "updated_at": now} for d in drafts]
        self._session.execute(insert_for(self._session, _p).on_conflict_do_nothing(index_elements=[_p.c.idempotency_key]),
                              rows)

    def supersede_unsent(self, newer: Sequence[tuple[str, int]]) -> list[PushRecord]:
        """``workorders.ports.PushRecords.supersede_unsent``: one read and one guarded update for the batch.

        The update re-checks the status, so a record a push worker claimed meanwhile (``pushing``) stays its
        worker's, and the newer version then meets it as invoiced (a correction), never as withdrawn.
        """
        latest = {}
        for work_order_id, version in newer:
            latest[work_order_id] = max(version, latest.get(work_order_id, 0))
        if not any(version > 1 for version in latest.values()):
            return []
        unsent = (PushStatus.ready.value, PushStatus.rejected.value)
        rows = self._session.execute(
            sa.select(_p.c.idempotency_key, _p.c.work_order_id, _p.c.work_order_version)
            .where(_p.c.work_order_id.in_([i for i, v in latest.items() if v > 1]) & _p.c.status.in_(unsent))
        ).all()
        older = [(key, latest[work_order_id]) for key, work_order_id, version in rows if version < latest[work_order_id]]
        withdrawn = []
        for key, by_version in older:
            withdrawn.extend(self._session.execute(
                sa.update(_p).where((_p.c.idempotency_key == key) & _p.c.status.in_(unsent))
                .values(status=PushStatus.superseded.value, updated_at=self._clock(),
                        last_error=f"superseded by version {by_version} before it reached the ledger")
                .returning(*_p.c)
            ).mappings())
        return [to_push_record(row) for row in withdrawn]

    def withdraw_unsent(self, work_order_id: str, *, because: str) -> list[PushRecord]:
        """``workorders.ports.PushRecords.withdraw_unsent``: one guarded update (the status is re-checked)."""
        unsent = (PushStatus.ready.value, PushStatus.rejected.value)
        rows = self._session.execute(
            sa.update(_p).where((_p.c.work_order_id == work_order_id) & _p.c.status.in_(unsent))
            .values(status=PushStatus.superseded.value, updated_at=self._clock(), last_error=because[:500])
            .returning(*_p.c)
        ).mappings()
        return [to_push_record(row) for row in rows]

    def claim(self, *, ledger: str, company: str | None = None, limit: int = 30) -> list[PushRecord]:
        """Move up to ``limit`` ready or uncertain records to ``pushing`` (attempts + 1), oldest first.

        One statement: on PostgreSQL the chosen rows are locked ``FOR UPDATE SKIP LOCKED``, so concurrent
        workers take disjoint rows; SQLite runs one writer at a time. ``attempts > 1`` on a claimed record
        means an earlier attempt may have reached the ledger: look it up there before sending it again.
        """
        if limit <= 0:
            return []
        claimable = _p.c.status.in_(CLAIMABLE)
        chosen = sa.select(_p.c.idempotency_key).where(claimable & (_p.c.ledger == ledger))
        if company is not None:
            chosen = chosen.where(_p.c.company == company)
        chosen = chosen.order_by(*_ORDER).limit(limit).with_for_update(skip_locked=True)
        rows = self._session.execute(
            sa.update(_p)
            .where(_p.c.idempotency_key.in_(chosen.scalar_subquery()) & claimable)
            .values(status=PushStatus.pushing.value, attempts=_p.c.attempts + 1, updated_at=self._clock())
            .returning(*_p.c)
        ).mappings()
        return [to_push_record(row) for row in sorted(rows, key=lambda row: (row["created_at"], row["idempotency_key"]))]

    def mark(self, key: str, status: PushStatus, *, ledger_id: str | None = None, error: str = "") -> PushRecord:
        """Set the status (and the ledger's id when given, and the last error); a pushed record stays pushed.

        Leaving ``pushed`` would let the same version be invoiced twice, so it raises ``ValueError``.
        """
        status = PushStatus(status)
        guard = _p.c.idempotency_key == key
        if status is not PushStatus.pushed:  # checked in the UPDATE itself, so no other worker slips between
            guard = guard & (_p.c.status != PushStatus.pushed.value)
        values: dict[str, Any] = {"status": status.value, "last_error": error, "updated_at": self._clock()}
        if ledger_id is not None:
            values["ledger_id"] = ledger_id
        row = self._session.execute(sa.update(_p).where(guard).values(**values).returning(*_p.c)).mappings().first()
        if row is not None:
            return to_push_record(row)
        if self.get(key) is None:
            raise LookupError(f"no push record {key}")
        raise ValueError(f"push record {key} was pushed; it cannot become {status}")

    def mark_many(self, outcomes: Sequence[tuple[str, PushStatus, str | None, str]]) -> None:
        """``mark`` for many ``(key, status, ledger id or None, error)`` at once: one statement, nothing read back.

        Same guard as ``mark``; when any record was not updated (missing, or pushed and asked to leave it),
        each is marked one by one so the first problem raises exactly as ``mark`` raises it.
        """
        if not outcomes:
            return
        new = sa.bindparam("new_status", type_=sa.String)
        statement = (
            sa.update(_p)
            .where((_p.c.idempotency_key == sa.bindparam("key", type_=sa.String))
                   & ((new == PushStatus.pushed.value) | (_p.c.status != PushStatus.pushed.value)))
            .values(status=new, last_error=sa.bindparam("error", type_=sa.String), updated_at=self._clock(),
                    ledger_id=sa.func.coalesce(sa.bindparam("new_ledger_id", type_=sa.String), _p.c.ledger_id))
        )
        rows = [{"key": key, "new_status": PushStatus(status).value, "error": error, "new_ledger_id": ledger_id}
                for key, status, ledger_id, error in outcomes]
        updated = self._session.execute(statement, rows).rowcount
        if updated != len(rows):
            for key, status, ledger_id, error in outcomes:
                self.mark(key, status, ledger_id=ledger_id, error=error)

    def note_ledger_totals(self, totals: Sequence[tuple[str, Decimal, Decimal]]) -> None:
        """Keep ``(key, tax, total)`` as the ledger computed them when it created each invoice."""
        if totals:
            self._session.execute(
                sa.update(_p).where(_p.c.idempotency_key == sa.bindparam("key", type_=sa.String))
                .values(ledger_tax=sa.bindparam("tax", type_=Money()), ledger_total=sa.bindparam("total", type_=Money())),
                [{"key": key, "tax": tax, "total": total} for key, tax, total in totals])

    def note_payments(self, readings: Sequence[PaymentReading]) -> None:
        """Keep each invoice's payment state and balance as just read from its ledger, with the time read."""
        if readings:
            self._session.execute(
                sa.update(_p).where(_p.c.idempotency_key == sa.bindparam("key", type_=sa.String))
                .values(payment_state=sa.bindparam("state", type_=sa.String), payment_read_at=self._clock(),
                        ledger_balance=sa.bindparam("balance", type_=Money())),
                [{"key": r.idempotency_key, "state": r.state.value, "balance": r.balance} for r in readings])

    def release_stale(self, older_than: timedelta, *, ledger: str | None = None) -> int:
        """Move records left in ``pushing`` longer than ``older_than`` (a worker died) to ``uncertain``.

        Uncertain, not ready: the lost attempt may have reached the ledger, so it is looked up before any resend.
        Returns how many records moved.
        """
        now = self._clock()
        stale = (_p.c.status == PushStatus.pushing.value) & (_p.c.updated_at < now - older_than)
        if ledger is not None:
            stale = stale & (_p.c.ledger == ledger)
        result = self._session.execute(
            sa.update(_p)
            .where(stale)
            .values(
                status=PushStatus.uncertain.value,
                last_error=f"left in pushing for over {older_than}; look it up in the ledger before resending",
                updated_at=now,
            )
        )
        return result.rowcount

    def get(self, key: str) -> PushRecord | None:
        row = self._session.execute(sa.select(_p).where(_p.c.idempotency_key == key)).mappings().one_or_none()
        return None if row is None else to_push_record(row)

    def for_work_orders(self, work_order_ids: Sequence[str]) -> dict[str, list[PushRecord]]:
        """``for_work_order`` of several work orders in one read; one without records is left out."""
        found: dict[str, list[PushRecord]] = {}
        ids = sorted(set(work_order_ids))
        for start in range(0, len(ids), 500):
            rows = self._session.execute(
                sa.select(_p).where(_p.c.work_order_id.in_(ids[start:start + 500]))
                .order_by(_p.c.work_order_id, _p.c.work_order_version, *_ORDER)
            ).mappings()
            for row in rows:
                found.setdefault(row["work_order_id"], []).append(to_push_record(row))
        return found

    def for_work_order(self, work_order_id: str) -> list[PushRecord]:
        """Every push record of every version of the work order, oldest version first."""
        rows = self._session.execute(
            sa.select(_p).where(_p.c.work_order_id == work_order_id).order_by(_p.c.work_order_version, *_ORDER)
        ).mappings()
        return [to_push_record(row) for row in rows]

    def holding_ledger_ids(self, *, ledger: str, company: str, ledger_ids: Sequence[str]) -> dict[str, str]:
        """Ledger id -> idempotency key of the pushed records of this company and ledger that hold these ids."""
        if not ledger_ids:
            return {}
        rows = self._session.execute(
            sa.select(_p.c.ledger_id, _p.c.idempotency_key)
            .where(_p.c.ledger == ledger, _p.c.company == company, _p.c.status == PushStatus.pushed.value,
                   _p.c.ledger_id.in_(sorted(set(ledger_ids))))
        )
        return {ledger_id: key for ledger_id, key in rows}

    def all(self, *, status: PushStatus | None = None) -> list[PushRecord]:
        query = sa.select(_p).order_by(*_ORDER)
        if status is not None:
            query = query.where(_p.c.status == PushStatus(status).value)
        return [to_push_record(row) for row in self._session.execute(query).mappings()]

    def claim_keys(self, keys: Sequence[str]) -> list[PushRecord]:
        """Move the given records that are ready or uncertain to ``pushing`` (attempts + 1), in one statement.

        Same guard as ``claim``: a record another worker holds, or one already pushed, is not returned, so a
        replay and a pipeline run never send the same draft together.
        """
        if not keys:
            return []
        rows = self._session.execute(
            sa.update(_p)
            .where(_p.c.idempotency_key.in_(list(keys)) & _p.c.status.in_(CLAIMABLE))
            .values(status=PushStatus.pushing.value, attempts=_p.c.attempts + 1, updated_at=self._clock())
            .returning(*_p.c)
        ).mappings()
        return [to_push_record(row) for row in rows]

    def refresh_rejected(self, draft: InvoiceDraft) -> bool:
        """Put a rebuilt draft (a customer chosen, a mapping added) in place of a rejected one, ready to push.

        Only a ``rejected`` record changes: it never became an invoice, so its key may carry new content. A
        record in any other state keeps its draft (True when the record was refreshed).
        """
        updated = self._session.execute(
            sa.update(_p)
            .where((_p.c.idempotency_key == draft.idempotency_key) & (_p.c.status == PushStatus.rejected.value))
            .values(draft=draft.model_dump(mode="json"), amount=draft.total, doc_number=draft.doc_number,
                    status=PushStatus.ready.value, last_error="", updated_at=self._clock())
        )
        return updated.rowcount == 1

    def unmapped_customers(self, *, ledger: str, company: str) -> set[tuple[str, str | None]]:
        """(name, email) of the company's claimable drafts for this ledger that carry no mapped customer ref."""
        drafts = self._session.execute(sa.select(_p.c.draft).where(
            _p.c.status.in_(CLAIMABLE) & (_p.c.ledger == ledger) & (_p.c.company == company))).scalars()
        return {(d["customer_name"], d.get("customer_email")) for d in drafts if not d.get("customer_ref")}
