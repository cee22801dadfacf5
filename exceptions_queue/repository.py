"""The port the queue service stores cases through; storage's SqlCases and the tests' InMemoryCases (tests/fakes.py) implement it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from exceptions_queue.cases import Case, CaseKind, CaseStatus, HistoryEntry


class CaseRepository(Protocol):
    def add(self, case: Case) -> Case:
        """Store a new case (its ``id`` is None) with its first history entries; return it with its id."""

    def get(self, case_id: int) -> Case | None:
        """The case with its full history, or None."""

    def find_open(self, *, kind: CaseKind, subject: str) -> Case | None:
        """The open or in-progress case of this kind about this subject, if any (cases are not duplicated)."""

    def update(self, case: Case, entry: HistoryEntry) -> Case:
        """Save the case's new fields and append ``entry`` to its history; earlier entries never change."""

    def list(
        self,
        *,
        statuses: Sequence[CaseStatus] = (),
        kinds: Sequence[CaseKind] = (),
        company: str | None = None,
        work_order_id: str | None = None,
        limit: int = 500,
    ) -> list[Case]:
        """Cases matching every given filter, newest first (history left out for speed)."""

    def count_by_status(self) -> dict[CaseStatus, int]:
        """How many cases stand in each status."""
