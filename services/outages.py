"""One company's unreachable source or ledger: a connection_failed case and a line, while the others go on."""

from __future__ import annotations

from services.config import CompanyConfig, MissingSecretError
from services.counts import StepCounts
from services.health import FAILED, HealthRow, case_subject
from services.runtime import Runtime
from connectors.errors import ConnectorError
from exceptions_queue.service import CaseQueue
from workorders.anomalies import Anomaly, AnomalyCode

OUTAGE_ERRORS: tuple[type[Exception], ...] = (ConnectorError, MissingSecretError)
"""What one company's step may fail with without stopping the others: the other side is down, refuses us, or
its credentials are missing. Anything else (a bug, the store itself down) still stops the run."""


class CompaniesFailedError(Exception):
    """The run went through, but some companies' steps could not run (``counts.failed`` says which)."""

    def __init__(self, counts: StepCounts) -> None:
        super().__init__("; ".join(counts.failure_lines()))
        self.counts = counts


def record_outage(app: Runtime, company: CompanyConfig, kind: str, name: str, error: Exception) -> StepCounts:
    """Open (or keep) the ``connection_failed`` case of this component and return the run's line about it.

    The case has the health check's subject (``health:<company>/<kind>:<name>``), so whoever finds the
    problem first opens it and the health flow closes it once the component answers again.
    """
    detail = f"{type(error).__name__}: {error}"[:500]
    row = HealthRow(company=company.id, kind=kind, name=name, detail=detail, latency_ms=0, problem=FAILED)
    counts = StepCounts(failed={f"{company.id} {kind} {name}": detail})
    with app.store.unit_of_work() as uow:
        _, new = CaseQueue(uow.cases).open_case(Anomaly(
            code=AnomalyCode.connection_failed, subject=case_subject(row), company=company.id,
            summary=f"{company.name}: the {kind} {name!r} could not be used in this run, so its step was skipped "
                    f"and the other companies went on. {detail}"[:900],
            evidence={"component": row.component, "problem": FAILED, "detail": detail},
            suggested_actions=("fix_credentials", "check_server", "ignore")))
        uow.commit()
    counts.cases_opened[AnomalyCode.connection_failed.value] += new
    return counts


__all__ = ["OUTAGE_ERRORS", "CompaniesFailedError", "record_outage"]
