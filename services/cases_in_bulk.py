"""Opening a batch's cases at once: each through ``CaseQueue.open_case``, with one read per kind and one write."""

from __future__ import annotations

from collections.abc import Sequence

from exceptions_queue.cases import Case
from exceptions_queue.service import CaseQueue
from services.runtime import Cases
from workorders.anomalies import Anomaly, AnomalyCode

__all__ = ["open_in_bulk"]


def open_in_bulk(cases: Cases, anomalies: Sequence[Anomaly]) -> list[bool]:
    """Open ``anomalies`` in the order given, as ``CaseQueue.open_case`` would one at a time (its rules, its first
    history entry, the same ids), and say for each whether it opened a case (False: one was already open).

    One ``open_subjects`` read per kind says which subjects already have an open case, and one ``add_many``
    stores the new cases, instead of a read and two writes per case. The caller must not read cases between
    collecting the anomalies and this call: the batch's loop sees none of them until it returns.
    """
    if not anomalies:
        return []
    standing = {kind: cases.open_subjects(kind=kind, subjects=[a.subject for a in anomalies if a.code is kind])
                for kind in {anomaly.code for anomaly in anomalies}}
    collected = _CollectedCases(cases, standing)
    queue = CaseQueue(collected)
    opened = [queue.open_case(anomaly)[1] for anomaly in anomalies]
    cases.add_many(collected.new)
    return opened


class _CollectedCases:
    """The case repository ``CaseQueue.open_case`` sees: ``find_open`` answers from the read per kind (and from the
    cases just opened), ``add`` keeps the new case for ``add_many``."""

    def __init__(self, cases: Cases, standing: dict[AnomalyCode, set[str]]) -> None:
        self._cases, self._standing = cases, standing
        self._opened: dict[tuple[AnomalyCode, str], Case] = {}
        self.new: list[Case] = []

    def find_open(self, *, kind: AnomalyCode, subject: str) -> Case | None:
        if (kind, subject) in self._opened:
            return self._opened[(kind, subject)]
        if subject in self._standing.get(kind, ()):
            return self._cases.find_open(kind=kind, subject=subject)
        return None

    def add(self, case: Case) -> Case:
        self._opened[(case.kind, case.subject)] = case
        self.new.append(case)
        return case
