"""The ingest side of the store: raw payloads exactly as sources sent them, and the cursors that follow them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.stored_json import TEXT
from storage.tables import cursors, insert_for, raw_payloads
from workorders.ports import LandedPayload

REPLAY_PAGE = 500


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"a landed payload must be JSON; {type(value).__name__} is not")


def canonical_payload(payload: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The payload as plain JSON and the hash of its canonical text: key order and spacing never count.

    Decimals (from sources parsed without floats) are kept as strings, so no digit is lost.
    """
    text, digest = canonical_text(payload)
    return json.loads(text), digest


def canonical_text(payload: Mapping[str, Any]) -> tuple[str, str]:
    """The payload's canonical JSON text (sorted keys, no spaces, the standard library's spelling) and its hash.

    The hash is of this very text, so it stays ``json.dumps``'s: another encoder would change every hash. The text
    is also what the column keeps on SQLite, bound as it is instead of parsed and encoded again.
    """
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
    )
    return text, hashlib.sha256(text.encode()).hexdigest()


class SqlRawLanding:
    """One row per distinct content of a job; the row with the highest revision is the job's current content."""

    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def land(
        self, *, source: str, stream: str, external_id: str, locator: str, payload: Mapping[str, Any]
    ) -> LandedPayload:
        """Keep the payload once per distinct content; ``is_new`` says whether it differs from the current one.

        A content seen before but not current (A, then B, then A again) is new again: its row becomes
        current without being copied, so a replay maps what the source says now.
        """
        document, digest = canonical_payload(payload)
        t = raw_payloads
        job = (t.c.source == source) & (t.c.external_id == external_id)
        current = self._session.execute(
            sa.select(t.c.id, t.c.payload_hash, t.c.revision).where(job).order_by(t.c.revision.desc()).limit(1)
        ).first()
        if current is not None and current.payload_hash == digest:
            return LandedPayload(id=current.id, payload_hash=digest, is_new=False)
        now = self._clock()
        revision = current.revision + 1 if current is not None else 1
        revived = self._session.execute(
            sa.update(t)
            .where(job & (t.c.payload_hash == digest))
            .values(revision=revision, last_received_at=now)
            .returning(t.c.id)
        ).scalar_one_or_none()
        if revived is not None:
            return LandedPayload(id=revived, payload_hash=digest, is_new=True)
        inserted = self._session.execute(
            insert_for(self._session, t)
            .values(
                source=source,
                stream=stream,
                external_id=external_id,
                locator=locator,
                payload=document,
                payload_hash=digest,
                revision=revision,
                received_at=now,
                last_received_at=now,
            )
            .on_conflict_do_nothing(index_elements=[t.c.source, t.c.external_id, t.c.payload_hash])
            .returning(t.c.id)
        ).scalar_one_or_none()
        if inserted is None:  # another worker landed the same content a moment ago
            landed = self._session.execute(sa.select(t.c.id).where(job & (t.c.payload_hash == digest))).scalar_one()
            return LandedPayload(id=landed, payload_hash=digest, is_new=False)
        return LandedPayload(id=inserted, payload_hash=digest, is_new=True)

    def land_many(self, jobs: list[Any]) -> list[LandedPayload]:
        """``land`` for a page of jobs (``SourceJob``-like): one read of their current rows, one multi-row insert.

        A page naming a job twice, several sources, or a content coming back (A, B, A) takes ``land`` job by job.
        """
        keys = [job.external_id for job in jobs]
        if not jobs or len(set(keys)) != len(keys) or len({job.source for job in jobs}) != 1:
            return [self.land(source=job.source, stream=job.stream, external_id=job.external_id, locator=job.locator,
                              payload=job.payload) for job in jobs]
        t, source = raw_payloads, jobs[0].source
        current: dict[str, Any] = {}
        seen: set[tuple[str, str]] = set()
        for start in range(0, len(keys), 500):
            for row in self._session.execute(
                sa.select(t.c.external_id, t.c.id, t.c.payload_hash, t.c.revision)
                .where((t.c.source == source) & t.c.external_id.in_(keys[start:start + 500]))
            ):
                seen.add((row.external_id, row.payload_hash))
                if row.external_id not in current or row.revision > current[row.external_id].revision:
                    current[row.external_id] = row
        now, landed, rows = self._clock(), [], []
        as_text = self._session.connection().dialect.name == "sqlite"  # the column keeps the canonical text there
        for job in jobs:
            text, digest = canonical_text(job.payload)
            row = current.get(job.external_id)
            if row is not None and row.payload_hash == digest:
                landed.append(LandedPayload(id=row.id, payload_hash=digest, is_new=False))
            elif (job.external_id, digest) in seen:  # an earlier content is back: revive its row
                landed.append(self.land(source=source, stream=job.stream, external_id=job.external_id,
                                        locator=job.locator, payload=job.payload))
            else:
                landed.append(None)
                rows.append({"source": source, "stream": job.stream, "external_id": job.external_id,
                             "locator": job.locator, "payload": text if as_text else json.loads(text),
                             "payload_hash": digest,
                             "revision": row.revision + 1 if row is not None else 1, "received_at": now,
                             "last_received_at": now})
        if rows:
            insert = insert_for(self._session, t)
            if as_text:
                insert = insert.values(payload=sa.bindparam("payload", type_=TEXT))
            self._session.execute(
                insert.on_conflict_do_nothing(index_elements=[t.c.source, t.c.external_id, t.c.payload_hash]), rows)
            ids: dict[tuple[str, str], Any] = {}
            for start in range(0, len(rows), 500):
                chunk = [r["external_id"] for r in rows[start:start + 500]]
                for found in self._session.execute(
                    sa.select(t.c.external_id, t.c.payload_hash, t.c.id, t.c.revision, t.c.received_at)
                    .where((t.c.source == source) & t.c.external_id.in_(chunk))
                ):
                    ids[(found.external_id, found.payload_hash)] = found
            inserted = iter(rows)
            for position, landing in enumerate(landed):
                if landing is None:
                    wanted = next(inserted)
                    found = ids[(wanted["external_id"], wanted["payload_hash"])]
                    # A row another worker landed a moment ago is not new to this one (as in ``land``).
                    ours = found.revision == wanted["revision"] and found.received_at == now
                    landed[position] = LandedPayload(id=found.id, payload_hash=wanted["payload_hash"], is_new=ours)
        return landed

    def replay(self, *, source: str) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        """The current payload of each job of ``source``, by external id, read a page at a time."""
        t = raw_payloads
        current = (
            sa.select(t.c.external_id, sa.func.max(t.c.revision).label("revision"))
            .where(t.c.source == source)
            .group_by(t.c.external_id)
            .subquery()
        )
        query = (
            sa.select(t.c.stream, t.c.external_id, t.c.locator, t.c.payload)
            .join(current, (t.c.external_id == current.c.external_id) & (t.c.revision == current.c.revision))
            .where(t.c.source == source)
            .order_by(t.c.external_id)
            .limit(REPLAY_PAGE)
        )
        after: str | None = None
        while True:
            page = self._session.execute(query if after is None else query.where(t.c.external_id > after)).all()
            for row in page:
                yield row.stream, row.external_id, row.locator, row.payload
            if len(page) < REPLAY_PAGE:
                return
            after = page[-1].external_id

    def count_jobs(self) -> int:
        jobs = sa.select(raw_payloads.c.source, raw_payloads.c.external_id).distinct().subquery()
        return self._session.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one()

    def job_ids(self) -> list[str]:
        rows = self._session.execute(
            sa.select(raw_payloads.c.source, raw_payloads.c.external_id)
            .distinct()
            .order_by(raw_payloads.c.source, raw_payloads.c.external_id)
        )
        return [f"{source}:{external_id}" for source, external_id in rows]


class SqlCursors:
    """Where each stream stopped. Set it in the unit of work that stores the page, so both commit together."""

    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def get(self, stream: str) -> str | None:
        return self._session.execute(sa.select(cursors.c.value).where(cursors.c.stream == stream)).scalar_one_or_none()

    def set(self, stream: str, value: str) -> None:
        statement = insert_for(self._session, cursors).values(stream=stream, value=value, updated_at=self._clock())
        self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[cursors.c.stream],
                set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
            )
        )
