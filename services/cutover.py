"""Cutover beside existing books: what a company billed before Closeout is recorded, and no job of it is billed twice.

``closeout cutover --company C --invoiced-before DATE [--jobs FILE]`` records that jobs completed before the
date (and the jobs listed) were invoiced by hand or by the source's own sync. The rule ``invoiced_elsewhere``
then logs a no-invoice decision for each such job whenever it is judged; the jobs already read are judged at
once, so a draft a dry run (``push = false``) made for one of them is withdrawn before it can be sent, and the
cases they opened close. A source's ``start`` (in the config) is the other half: the first pull reads from it,
and a job its source last changed before it is history.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from exceptions_queue.cases import CaseStatus
from exceptions_queue.service import CaseQueue
from services.config import CompanyConfig
from services.runtime import Runtime
from workorders.decisions import Outcome
from workorders.push import PushStatus
from services.cutover_context import cutover_for, start_of_day
from services.prepare import judge

MAX_JOBS_FILE = 10 * 1024 * 1024
MAX_LISTED_JOBS = 100_000
RULE = "invoiced_elsewhere"
_SENT = (PushStatus.pushed, PushStatus.pushing, PushStatus.uncertain)
_HEADERS = {"job", "job_id", "job_number", "id", "external_id"}


class CutoverError(ValueError):
    """The cutover cannot be recorded as asked (the message says what to change)."""


@dataclass
class CutoverResult:
    """What ``record_cutover`` recorded and did to the jobs already read."""

    invoiced_before: datetime | None
    listed: int
    judged: int = 0
    not_billed: list[str] = field(default_factory=list)  # job numbers now decided invoiced elsewhere
    drafts_withdrawn: list[str] = field(default_factory=list)
    cases_closed: list[int] = field(default_factory=list)


def read_job_list(path: Path) -> list[str]:
    """Job ids or job numbers from the first column of a CSV (a header row naming it is skipped)."""
    try:
        if path.stat().st_size > MAX_JOBS_FILE:
            raise CutoverError(f"{path} is larger than {MAX_JOBS_FILE // (1024 * 1024)} MiB; split it")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CutoverError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CutoverError(f"{path} is not UTF-8 text") from None
    jobs = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = row[0].strip() if row else ""
        if not cell or (number == 1 and cell.lower() in _HEADERS):
            continue
        if len(cell) > 128:
            raise CutoverError(f"{path} row {number}: {cell[:40]!r}… is not a job id (over 128 characters)")
        jobs.append(cell)
    if len(jobs) > MAX_LISTED_JOBS:
        raise CutoverError(f"{path} lists {len(jobs)} jobs; at most {MAX_LISTED_JOBS} at a time")
    return jobs


def record_cutover(app: Runtime, company: CompanyConfig, *, invoiced_before: date | None, jobs: list[str],
                   actor: str) -> CutoverResult:
    """Record the cutover and judge every job already read that Closeout has not sent to the ledger.

    A job the rule now keeps out gets the evaluation's decisions logged, its unsent drafts withdrawn and its
    open cases closed, in the same transaction as the record: a run that starts meanwhile never sends one.
    """
    if invoiced_before is None and not jobs:
        raise CutoverError("say which jobs were invoiced elsewhere: --invoiced-before DATE, --jobs FILE, or both")
    moment = None if invoiced_before is None else start_of_day(invoiced_before, company)
    result = CutoverResult(invoiced_before=moment, listed=len(set(jobs)))
    run_id = f"cutover:{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
    with app.store.unit_of_work() as uow:
        uow.cutovers.record(company=company.id, invoiced_before=moment, jobs=jobs, actor=actor)
        queue = CaseQueue(uow.cases)
        for order in list(uow.work_orders.latest(company=company.id)):
            if any(r.status in _SENT for r in uow.push_records.for_work_order(order.id)):
                continue
            result.judged += 1
            evaluation = judge(uow, company, order, run_id=run_id)
            decision = next(d for d in evaluation.decisions if d.rule_id == RULE)
            if decision.outcome is not Outcome.no_invoice:
                continue
            uow.decisions.add(evaluation.decisions)
            result.not_billed.append(order.job_number)
            because = f"invoiced elsewhere: {decision.reason} (cutover recorded by {actor})"
            result.drafts_withdrawn += [r.doc_number for r in uow.push_records.withdraw_unsent(order.id,
                                                                                               because=because)]
            for case in uow.cases.list(work_order_id=order.id, statuses=(CaseStatus.open, CaseStatus.in_progress)):
                queue.close_if_cleared(case, note=because)
                result.cases_closed.append(case.id)
        uow.commit()
    return result
