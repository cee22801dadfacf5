"""Rule decisions: every evaluation of every rule, so any invoice line can be explained later."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.stored_json import stored_json
from storage.tables import rule_decisions
from workorders.decisions import Outcome, RuleDecision
from workorders.json_values import NotPlainJsonError, plain_json

_d = rule_decisions


_COLUMNS = ("rule_id", "rule_version", "work_order_id", "work_order_version", "outcome", "reason", "evidence", "run_id",
            "decided_at")
_SQLITE_INSERT = f"INSERT INTO {_d.name} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


def _sqlite_params(dialect: sa.Dialect, decisions: Sequence[RuleDecision], now: datetime) -> list[tuple]:
    """The decisions as SQLAlchemy would bind them on SQLite, built straight from them: ``decided_at`` through its
    column's bind processor (UTC timestamp), the evidence as its JSON text (``stored_json``, the standard library
    for what orjson does not write alike), the other columns as they are (they have none there). A run's rows share
    one ``decided_at``, so each distinct moment is converted once."""
    as_stamp = _d.c.decided_at.type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
    moments: dict[datetime, Any] = {}
    params = []
    for decision in decisions:
        moment = decision.decided_at or now
        if moment not in moments:
            moments[moment] = as_stamp(moment)
        evidence = stored_json(decision.evidence, general=lambda _, d=decision: json.dumps(_plain_evidence(d)))
        params.append((decision.rule_id, decision.rule_version, decision.work_order_id, decision.work_order_version,
                       decision.outcome.value, decision.reason, evidence, decision.run_id, moments[moment]))
    return params


def _plain_evidence(decision: RuleDecision) -> Any:
    """The evidence as plain JSON: the rules engine already gives it, anything else goes through pydantic."""
    try:
        return plain_json(decision.evidence)
    except NotPlainJsonError:
        return decision.model_dump(mode="json", include={"evidence"})["evidence"]


class SqlDecisions:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def add(self, decisions: Sequence[RuleDecision]) -> None:
        """Append the decisions in one ``executemany``; one without ``decided_at`` is stamped now. Evidence is kept
        as JSON.

        On SQLite the parameters are bound here, without SQLAlchemy's per-row machinery (decisions are most of a
        prepare's rows). A value the columns refuse (a naive datetime) takes the ordinary path, which raises as it
        always did.
        """
        if not decisions:
            return
        now = self._clock()
        connection = self._session.connection()
        if connection.dialect.name == "sqlite":
            try:
                params = _sqlite_params(connection.dialect, decisions, now)
            except Exception:  # noqa: BLE001 - the ordinary path below reports it the usual way
                params = None
            if params is not None:
                connection.exec_driver_sql(_SQLITE_INSERT, params)
                return
        self._session.execute(sa.insert(_d), [
            {
                "rule_id": decision.rule_id,
                "rule_version": decision.rule_version,
                "work_order_id": decision.work_order_id,
                "work_order_version": decision.work_order_version,
                "outcome": decision.outcome.value,
                "reason": decision.reason,
                "evidence": _plain_evidence(decision),
                "run_id": decision.run_id,
                "decided_at": decision.decided_at or now,
            }
            for decision in decisions
        ])

    def for_work_order(self, work_order_id: str, version: int | None = None) -> list[RuleDecision]:
        """The decisions about one work order (one version of it if given), in the order they were added."""
        query = sa.select(_d).where(_d.c.work_order_id == work_order_id)
        if version is not None:
            query = query.where(_d.c.work_order_version == version)
        rows = self._session.execute(query.order_by(_d.c.id)).mappings()
        return [
            RuleDecision(
                rule_id=row["rule_id"],
                rule_version=row["rule_version"],
                work_order_id=row["work_order_id"],
                work_order_version=row["work_order_version"],
                outcome=Outcome(row["outcome"]),
                reason=row["reason"],
                evidence=row["evidence"],
                run_id=row["run_id"],
                decided_at=row["decided_at"],
            )
            for row in rows
        ]

    def outcome_counts(self) -> dict[str, int]:
        """How many decisions have each outcome, keyed by the outcome's value; every outcome is present."""
        counts = {outcome.value: 0 for outcome in Outcome}
        rows = self._session.execute(sa.select(_d.c.outcome, sa.func.count()).group_by(_d.c.outcome))
        for outcome, count in rows:
            counts[outcome] = count
        return counts
