"""Claiming chosen push records by key, for a replay that pushes one job's draft and nothing else."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.sql_push_records import CLAIMABLE, to_push_record
from storage.tables import push_records
from workorders.drafts import InvoiceDraft
from workorders.push import PushRecord, PushStatus

_p = push_records


def claim_keys(session: Session, keys: Sequence[str], *, clock: Callable[[], datetime]) -> list[PushRecord]:
    """Move the given records that are ready or uncertain to ``pushing`` (attempts + 1), in one statement.

    Same guard as ``SqlPushRecords.claim``: a record another worker holds, or one already pushed, is not
    returned, so a replay and a pipeline run never send the same draft together.
    """
    if not keys:
        return []
    rows = session.execute(
        sa.update(_p)
        .where(_p.c.idempotency_key.in_(list(keys)) & _p.c.status.in_(CLAIMABLE))
        .values(status=PushStatus.pushing.value, attempts=_p.c.attempts + 1, updated_at=clock())
        .returning(*_p.c)
    ).mappings()
    return [to_push_record(row) for row in rows]


def refresh_rejected(session: Session, draft: InvoiceDraft, *, clock: Callable[[], datetime]) -> bool:
    """Put a rebuilt draft (a customer chosen, a mapping added) in place of a rejected one, ready to push.

    Only a ``rejected`` record changes: it never became an invoice, so its key may carry new content. A
    record in any other state keeps its draft (True when the record was refreshed).
    """
    updated = session.execute(
        sa.update(_p)
        .where((_p.c.idempotency_key == draft.idempotency_key) & (_p.c.status == PushStatus.rejected.value))
        .values(draft=draft.model_dump(mode="json"), amount=draft.total, doc_number=draft.doc_number,
                status=PushStatus.ready.value, last_error="", updated_at=clock())
    )
    return updated.rowcount == 1
