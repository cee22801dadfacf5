"""Rule decisions: every evaluation of every rule, so any invoice line can be explained later."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.tables import rule_decisions
from workorders.decisions import Outcome, RuleDecision

_d = rule_decisions


class SqlDecisions:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def add(self, decisions: Sequence[RuleDecision]) -> None:
        """Append the decisions; one without ``decided_at`` is stamped now. Evidence is kept as JSON."""
        if not decisions:
            return
        now = self._clock()
        rows = []
        for decision in decisions:
            document = decision.model_dump(mode="json", include={"evidence"})  # only the evidence needs JSON form
            rows.append(
                {
                    "rule_id": decision.rule_id,
                    "rule_version": decision.rule_version,
                    "work_order_id": decision.work_order_id,
                    "work_order_version": decision.work_order_version,
                    "outcome": decision.outcome.value,
                    "reason": decision.reason,
                    "evidence": document["evidence"],
                    "run_id": decision.run_id,
                    "decided_at": decision.decided_at or now,
                }
            )
        self._session.execute(sa.insert(_d), rows)

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
