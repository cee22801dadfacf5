"""A day of later corrections on the demo's invoiced jobs, in both ledgers: what ``closeout demo-corrections`` does.

For each demo company four invoiced jobs change at the source, as field-service systems change them:

    harmless touch     only ``updated_at`` moves                      nothing: no case, nothing sent
    returned part      a part's quantity drops, the invoice unpaid      the invoice is updated in place
    added line         after the customer paid, a line is added and     a credit note (``<doc>-CR``) for the cut
                       the first line's price is cut by 10.00           and a supplementary invoice (``<doc>-A``)
    cancellation       the job is cancelled, the invoice unpaid         the invoice is voided

The demo's job files are bundled read-only, so the first day copies them into the workspace
(``demo-jobs/``) and points the workspace's demo config at the copies; the copies then change.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from closeout.settings import BUNDLED_DEMO_CONFIG
from closeout.workspace import DEMO_MARKER
from exceptions_queue.cases import CaseKind, CaseStatus
from sandbox.customer_payments import pay_invoice
from services.corrections import correct_case
from services.reconcile import reconcile
from workorders.push import PushStatus

__all__ = ["CHANGES", "DayResult", "DemoDayError", "change_job", "copy_demo_jobs", "job_file",
           "run_corrections_day"]

CHANGES = ("harmless touch", "returned part", "added line", "cancellation")


class DemoDayError(ValueError):
    """The workspace is not the demo's, or its jobs are not there to change."""


@dataclass
class JobResult:
    company: str
    job_number: str
    change: str
    happened: str = ""
    documents: list[str] = field(default_factory=list)


@dataclass
class DayResult:
    jobs: list[JobResult] = field(default_factory=list)
    second_run_cases: int = 0
    reconcile_findings: int = 0


def copy_demo_jobs(home: Path, config: Path) -> None:
    """Copy the bundled job files into the workspace once and point the demo config at the copies."""
    text = config.read_text(encoding="utf-8")
    if not text.startswith(DEMO_MARKER):
        raise DemoDayError(f"{config} is not the demo's config: run `closeout demo` in a fresh workspace first")
    bundled = BUNDLED_DEMO_CONFIG.parent
    for folder in ("jobs", "jobs-harbour"):
        copy = home / "demo-jobs" / folder
        if not copy.exists():
            shutil.copytree(bundled / folder, copy)
        text = text.replace(f'path = "{bundled / folder}"', f'path = "{copy}"')
    config.write_text(text, encoding="utf-8")


def run_corrections_day(app: Any, home: Path, *, run_pipeline: Callable[[], Any], actor: str = "demo") -> DayResult:
    """Change four invoiced jobs per company, run the pipeline, decide each case it opens with the planned
    correction, and run again (which must change nothing)."""
    result = DayResult()
    reconcile(app)  # reads each invoice's payment before anything changes
    chosen = []
    for company in app.companies():
        folder = home / "demo-jobs" / ("jobs-harbour" if company.ledger.kind == "xero" else "jobs")
        picks = _pick(app, company.id, folder)
        for change, (record, path, job_id) in zip(CHANGES, picks):
            if change == "added line":
                pay_invoice(app.sandbox_url, company, record.ledger_id, record.ledger_total or record.amount)
            chosen.append((company.id, change, record, path, job_id))
    reconcile(app)  # the paid invoice reads as paid
    for _, change, _, path, job_id in chosen:
        change_job(path, job_id, change)
    run_pipeline()
    with app.store.unit_of_work() as uow:
        cases = {c.work_order_id: c for c in uow.cases.list(kinds=(CaseKind.changed_after_invoiced,),
                                                            statuses=(CaseStatus.open, CaseStatus.in_progress))}
    for company_id, change, record, _, _ in chosen:
        job = JobResult(company_id, record.draft.doc_number, change)
        case = cases.get(record.work_order_id)
        if case is None:
            job.happened = "nothing: no billable change, no case, nothing sent"
        else:
            report = correct_case(app, case.id, actor=actor)
            job.happened = f"case #{case.id}: {report.outcome}; " + "; ".join(
                f"{r.step.describe()} [{r.ledger_id}]" for r in report.steps)
        with app.store.unit_of_work() as uow:
            job.documents = _documents(uow, record.work_order_id)
        result.jobs.append(job)
    run_pipeline()
    with app.store.unit_of_work() as uow:
        result.second_run_cases = len([c for c in uow.cases.list(kinds=(CaseKind.changed_after_invoiced,),
                                                                 statuses=(CaseStatus.open, CaseStatus.in_progress))])
    result.reconcile_findings = len(reconcile(app).findings)
    return result


def _pick(app: Any, company: str, folder: Path) -> list[tuple[Any, Path, str]]:
    """Four invoiced jobs of the company, the second with a part of quantity two or more to return."""
    rows = _files_by_job(folder)
    with app.store.unit_of_work() as uow:
        pushed = sorted((r for r in uow.push_records.all(status=PushStatus.pushed) if r.company == company),
                        key=lambda r: r.doc_number)
        changed = {r.work_order_id for r in pushed if len(uow.work_orders.versions(r.work_order_id)) > 1}
    found = {}
    for record in pushed:
        job_id = record.work_order_id.split(":", 1)[-1]
        if job_id in rows and record.work_order_id not in changed:
            found[job_id] = (record, rows[job_id])
    returnable = [j for j, (_, path) in found.items() if _part_row(_read(path), j) is not None]
    if not returnable or len(found) < len(CHANGES):
        raise DemoDayError(f"{company} has too few invoiced jobs left to change: run `closeout demo` in a fresh workspace")
    second = returnable[0]
    others = [j for j in found if j != second][:3]
    order = [others[0], second, others[1], others[2]]
    return [(found[j][0], found[j][1], j) for j in order]


def job_file(folder: Path, job_id: str) -> Path:
    """The CSV file of the demo folder that holds this job's rows."""
    found = _files_by_job(folder).get(job_id)
    if found is None:
        raise DemoDayError(f"no job {job_id} in {folder}")
    return found


def _files_by_job(folder: Path) -> dict[str, Path]:
    """Each job id of the folder's CSV files, with the first file that holds its rows."""
    jobs: dict[str, Path] = {}
    for path in sorted(folder.glob("*.csv")):
        for row in _read(path)[1]:
            jobs.setdefault(row["job_id"], path)
    return jobs


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _part_row(table: tuple[list[str], list[dict[str, str]]], job_id: str) -> dict[str, str] | None:
    for row in table[1]:
        if row["job_id"] == job_id and row["line_kind"] in ("part", "material") and _quantity(row) >= 2:
            return row
    return None


def _quantity(row: dict[str, str]) -> Decimal:
    try:
        return Decimal(row["quantity"] or "0")
    except ArithmeticError:
        return Decimal(0)


def change_job(path: Path, job_id: str, change: str) -> None:
    """Change one job's rows in its CSV file as ``change`` (one of ``CHANGES``) says, moving its ``updated_at``."""
    columns, rows = _read(path)
    mine = [row for row in rows if row["job_id"] == job_id]
    if change == "returned part":
        part = _part_row((columns, mine), job_id)
        part["quantity"] = str(_quantity(part) - 1)
    elif change == "added line":
        extra = {**mine[-1], "line_kind": "material", "description": "Extra fittings (added after billing)",
                 "quantity": "1", "unit_price": "35.00"}
        for name in ("hours_start", "hours_end", "notes", "photos_before", "photos_after"):
            if name in extra:
                extra[name] = ""
        extra["item_code"] = next((r["item_code"] for r in mine if r["line_kind"] in ("part", "material")),
                                  mine[-1]["item_code"])
        mine.append(extra)
        first = mine[0]
        if Decimal(first["unit_price"] or "0") > 10:
            first["unit_price"] = str(Decimal(first["unit_price"]) - 10)
    elif change == "cancellation":
        for row in mine:
            row["status"] = "cancelled"
    for row in mine:  # every change, the harmless touch included, moves the job's updated_at
        row["updated_at"] = _later(row["updated_at"])
    at = next(i for i, row in enumerate(rows) if row["job_id"] == job_id)
    rows = rows[:at] + mine + [row for row in rows[at:] if row["job_id"] != job_id]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _later(stamp: str) -> str:
    """The same moment a day later, written as it was (``2026-11-04 17:05`` or ISO with its offset)."""
    try:
        moment = datetime.fromisoformat(stamp) + timedelta(days=1)
    except ValueError:
        return stamp
    return moment.isoformat(timespec="seconds") if "T" in stamp else moment.strftime("%Y-%m-%d %H:%M")


def _documents(uow: Any, work_order_id: str) -> list[str]:
    from services.explain import explain_work_order

    return explain_work_order(uow, work_order_id).documents()
