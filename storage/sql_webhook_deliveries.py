"""Webhook deliveries seen lately: one row per signed delivery, so a replay is known to every receiver process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.tables import insert_for, webhook_deliveries

_d = webhook_deliveries


class SqlWebhookDeliveries:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def first_time(self, digest: str, *, keep_for: timedelta) -> bool:
        """Record the delivery; False when it was already recorded within ``keep_for`` (a replay).

        One statement decides (``ON CONFLICT DO NOTHING`` on the digest), so two receivers handed the same
        delivery at once accept it once. Rows older than ``keep_for`` are dropped first: a delivery that old is
        refused by its own timestamp before it gets here.
        """
        now = self._clock()
        self._session.execute(sa.delete(_d).where(_d.c.received_at < now - keep_for))
        # RETURNING tells whether the row went in: the driver's rowcount is not reliable here (psycopg gives -1)
        inserted = self._session.execute(
            insert_for(self._session, _d).values(digest=digest, received_at=now)
            .on_conflict_do_nothing(index_elements=["digest"]).returning(_d.c.digest))
        return inserted.first() is not None
