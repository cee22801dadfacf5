"""Work order versions: a new row only when the content changes, each row a full snapshot."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import islice

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.stored_json import TEXT, stored_json
from storage.tables import rule_decisions, work_order_versions
from workorders.ports import SavedWorkOrder
from workorders.work_order import WorkOrder, WorkOrderStatus, content_hash_of, snapshot

LATEST_PAGE = 500
IN_CHUNK = 500  # ids per ``IN (...)``: well under SQLite's bound-parameter limit
DUPLICATE_NET = 50
_v = work_order_versions


def _latest_versions() -> sa.Subquery:
    return (
        sa.select(_v.c.work_order_id, sa.func.max(_v.c.version).label("version"))
        .group_by(_v.c.work_order_id)
        .subquery("latest")
    )


def _joined_to(latest: sa.Subquery) -> sa.ColumnElement[bool]:
    return (_v.c.work_order_id == latest.c.work_order_id) & (_v.c.version == latest.c.version)


def _is_latest() -> sa.ColumnElement[bool]:
    """No newer version of the same work order: one primary-key probe per row, not a scan of the table."""
    newer = _v.alias("newer")
    return ~sa.exists().where((newer.c.work_order_id == _v.c.work_order_id) & (newer.c.version > _v.c.version))


def _completed_day() -> sa.ColumnElement[str]:
    # The date part of the stored ISO text, whatever offset the source gave: two days either side is wide enough.
    return sa.func.substr(_v.c.snapshot["completed_at"].as_string(), 1, 10)


def _duplicate_window(order: WorkOrder) -> tuple[str, str] | None:
    """The completion days a look-alike of ``order`` may have; None when the order is not a completed job."""
    moment = order.completed_at or order.updated_at
    if order.status is not WorkOrderStatus.completed or moment is None:
        return None
    return (moment - timedelta(days=2)).date().isoformat(), (moment + timedelta(days=2)).date().isoformat()


def _chunks(items: list, size: int = IN_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _stored(document: dict, as_text: bool) -> dict | str:
    """The snapshot as the insert binds it: its JSON text (orjson) when ``as_text``, else the document itself.

    A work order has no float field (money and quantities are Decimals, kept as text), so no NaN can hide in it.
    """
    return stored_json(document, floats=False) if as_text else document


class SqlWorkOrders:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def save(self, order: WorkOrder) -> SavedWorkOrder:
        """Store version n+1 when the content hash differs from version n; versions start at 1.

        The incoming ``order.version`` is ignored: the store alone numbers versions. Two writers saving
        the same order at once cannot both win: (id, version) is the primary key.
        """
        content_hash = order.content_hash()
        latest = self._session.execute(
            sa.select(_v.c.version, _v.c.content_hash)
            .where(_v.c.work_order_id == order.id)
            .order_by(_v.c.version.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.content_hash == content_hash:
            return SavedWorkOrder(order=order.with_version(latest.version), changed=False)
        stored = order.with_version(latest.version + 1 if latest is not None else 1)
        self._session.execute(
            sa.insert(_v).values(
                work_order_id=stored.id,
                version=stored.version,
                company=stored.company,
                job_number=stored.job_number,
                status=stored.status.value,
                content_hash=content_hash,
                snapshot=snapshot(stored),
                stored_at=self._clock(),
            )
        )
        return SavedWorkOrder(order=stored, changed=True)

    def save_many(self, orders: list[WorkOrder]) -> list[SavedWorkOrder]:
        """``save`` for a page of orders: one read of their latest versions, one multi-row insert of what changed.

        The same id twice in ``orders`` is saved in turn, as ``save`` would (the second sees the first).
        """
        latest: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(sorted({order.id for order in orders})):
            for work_order_id, version, content_hash in self._session.execute(
                sa.select(_v.c.work_order_id, _v.c.version, _v.c.content_hash).where(_v.c.work_order_id.in_(chunk))
            ):
                if work_order_id not in latest or version > latest[work_order_id][0]:
                    latest[work_order_id] = (version, content_hash)
        now, rows, saved = self._clock(), [], []
        as_text = self._session.connection().dialect.name == "sqlite"  # snapshots bound as their JSON text there
        for order in orders:
            document = snapshot(order)  # one dump for the hash and the stored snapshot
            content_hash = content_hash_of(document)
            current = latest.get(order.id)
            if current is not None and current[1] == content_hash:
                saved.append(SavedWorkOrder(order=order.with_version(current[0]), changed=False))
                continue
            stored = order.with_version(current[0] + 1 if current is not None else 1)
            document["version"] = stored.version  # what ``snapshot(stored)`` gives: only the version differs
            latest[order.id] = (stored.version, content_hash)
            rows.append({"work_order_id": stored.id, "version": stored.version, "company": stored.company,
                         "job_number": stored.job_number, "status": stored.status.value,
                         "content_hash": content_hash, "snapshot": _stored(document, as_text),
                         "stored_at": now})
            saved.append(SavedWorkOrder(order=stored, changed=True))
        if rows:
            insert = sa.insert(_v)
            self._session.execute(insert.values(snapshot=sa.bindparam("snapshot", type_=TEXT)) if as_text else insert,
                                  rows)
        return saved

    def get(self, work_order_id: str, version: int | None = None) -> WorkOrder | None:
        """That version, or the latest one when ``version`` is None."""
        query = sa.select(_v.c.snapshot).where(_v.c.work_order_id == work_order_id)
        if version is None:
            query = query.order_by(_v.c.version.desc()).limit(1)
        else:
            query = query.where(_v.c.version == version)
        document = self._session.execute(query).scalar_one_or_none()
        return None if document is None else WorkOrder.model_validate(document)

    def versions(self, work_order_id: str) -> list[WorkOrder]:
        """Every stored version, oldest first."""
        documents = self._session.execute(
            sa.select(_v.c.snapshot).where(_v.c.work_order_id == work_order_id).order_by(_v.c.version)
        ).scalars()
        return [WorkOrder.model_validate(document) for document in documents]

    def latest(self, *, company: str | None = None) -> Iterator[WorkOrder]:
        """The latest version of every work order (of one company if given), by id, a page at a time."""
        latest = _latest_versions()
        query = sa.select(_v.c.work_order_id, _v.c.snapshot).join(latest, _joined_to(latest))
        if company is not None:
            query = query.where(_v.c.company == company)
        query = query.order_by(_v.c.work_order_id).limit(LATEST_PAGE)
        after: str | None = None
        while True:
            page = self._session.execute(query if after is None else query.where(_v.c.work_order_id > after)).all()
            for row in page:
                yield WorkOrder.model_validate(row.snapshot)
            if len(page) < LATEST_PAGE:
                return
            after = page[-1].work_order_id

    def pending_evaluation(self, *, limit: int = 1000) -> list[WorkOrder]:
        """Latest versions with no rule decision for that very version, oldest stored first.

        An older version left unevaluated is skipped on purpose: only what the source says now is billed.
        """
        latest = _latest_versions()
        d = rule_decisions.c
        decided = sa.exists().where((d.work_order_id == _v.c.work_order_id) & (d.work_order_version == _v.c.version))
        documents = self._session.execute(
            sa.select(_v.c.snapshot)
            .join(latest, _joined_to(latest))
            .where(~decided)
            .order_by(_v.c.stored_at, _v.c.work_order_id)
            .limit(limit)
        ).scalars()
        return [WorkOrder.model_validate(document) for document in documents]

    def possible_duplicates(self, order: WorkOrder, *, limit: int = 50) -> list[WorkOrder]:
        """Latest versions of the company's other completed jobs finished within about two days of ``order``.

        A coarse net for the ``duplicate_job`` rule, which compares customer, site, day and amount itself:
        the store narrows by company, status and completion time (within the database), the rule decides.
        """
        window = _duplicate_window(order)
        if window is None:
            return []
        completed = _completed_day()
        documents = self._session.execute(
            sa.select(_v.c.snapshot)
            .where(_v.c.company == order.company, _v.c.work_order_id != order.id,
                   _v.c.status == WorkOrderStatus.completed.value, completed >= window[0], completed <= window[1],
                   _is_latest())
            .order_by(_v.c.work_order_id)
            .limit(limit)
        ).scalars()
        return [WorkOrder.model_validate(document) for document in documents]

    def possible_duplicates_many(self, orders: list[WorkOrder], *,
                                 limit: int = DUPLICATE_NET) -> dict[str, list[WorkOrder]]:
        """``possible_duplicates`` of every order of a batch, by order id, with one scan per company.

        The scan reads only ids and completion days; snapshots are read (once each) for the look-alikes chosen,
        except those of orders in ``orders``, which are the stored latest versions already.
        """
        known = {order.id: order for order in orders}
        windows = {order.id: window for order in orders if (window := _duplicate_window(order))}
        nets: dict[str, list[str]] = {}
        for company in sorted({known[order_id].company for order_id in windows}):
            mine = [order_id for order_id in windows if known[order_id].company == company]
            days: dict[str, list[str]] = {}
            completed = _completed_day()
            rows = self._session.execute(
                sa.select(_v.c.work_order_id, completed)
                .where(_v.c.company == company, _v.c.status == WorkOrderStatus.completed.value,
                       completed >= min(windows[i][0] for i in mine), completed <= max(windows[i][1] for i in mine),
                       _is_latest())
                .order_by(_v.c.work_order_id)
            )
            for work_order_id, day in rows:
                days.setdefault(day, []).append(work_order_id)
            by_window: dict[tuple[str, str], list[str]] = {}
            for order_id in mine:
                window = windows[order_id]
                if window not in by_window:  # the first limit + 1 ids of the window, in id order
                    inside = [days[day] for day in days if window[0] <= day <= window[1]]
                    by_window[window] = list(islice(heapq.merge(*inside), limit + 1))
                nets[order_id] = [other for other in by_window[window] if other != order_id][:limit]
        missing = sorted({other for net in nets.values() for other in net} - known.keys())
        for chunk in _chunks(missing):
            for document in self._session.execute(
                sa.select(_v.c.snapshot).where(_v.c.work_order_id.in_(chunk), _is_latest())
            ).scalars():
                order = WorkOrder.model_validate(document)
                known[order.id] = order
        return {order.id: [known[other] for other in nets.get(order.id, ())] for order in orders}

    def ids_for_job_number(self, job_number: str, *, company: str | None = None) -> list[str]:
        """Ids of the work orders people call by this job number (several sources may share one)."""
        query = sa.select(_v.c.work_order_id).where(_v.c.job_number == job_number).distinct()
        if company is not None:
            query = query.where(_v.c.company == company)
        return sorted(self._session.execute(query).scalars())

