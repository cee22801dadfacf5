"""Intake: land every raw payload, map it, store the work order or open a case; the cursor moves last.

Deletions. A source's word that a job is deleted (``workorders.deletions.SourceDeletion``: what a mapping
answers for a deletion record such as a ServiceTitan export row, or what ``pull_job`` makes of a job a
webhook named that the source no longer has) becomes a ``deleted`` version of the job's work order, for
the rules: before invoicing a logged no-invoice decision, after it a ``changed_after_invoiced`` case with a
void or credit plan. A deletion is never dropped without trace: one for a job Closeout never held (nothing
of it was billed, so nothing is left to undo) creates no work order but is logged, and a deletion record a
source sent is landed like any payload (``raw_payloads``, under the job's id) before it is mapped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC

from services.collector import collector_paused
from services.config import CompanyConfig, SourceConfig
from services.counts import StepCounts
from services.cutover_context import start_of_day
from services.runtime import Runtime, UnitOfWork
from exceptions_queue.service import CaseQueue
from mappings.mail_evidence import MailEvidence, with_evidence
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.deletions import SourceDeletion
from workorders.ports import RawJob, SourcePage
from workorders.work_order import WorkOrderStatus

log = logging.getLogger("closeout.intake")


SYSTEM_NAMES = {"jobber": "Jobber", "housecallpro": "Housecall Pro", "servicetitan": "ServiceTitan", "csv": "the CSV drop"}


def cursor_name(company: CompanyConfig, source: SourceConfig) -> str:
    return f"{company.id}/{source.kind}/{source.name}"


def pull_source(app: Runtime, company: CompanyConfig, source: SourceConfig) -> StepCounts:
    """Pull every page changed since the cursor; each page commits with its cursor, so a crash loses nothing."""
    counts = StepCounts()
    stream = cursor_name(company, source)
    with app.store.unit_of_work() as uow:
        cursor = uow.cursors.get(stream) or first_cursor(company, source)
    pages = iter(app.source_for(source, company).fetch_pages(cursor=cursor))
    while True:
        with collector_paused():  # a page at a time: its objects are not rescanned while it is taken
            if not _take_page(app, company, source, stream, pages, counts):
                return counts


def _take_page(app: Runtime, company: CompanyConfig, source: SourceConfig, stream: str, pages: Iterator[SourcePage],
               counts: StepCounts) -> bool:
    """Fetch the next page and take it with its cursor in one transaction; False when there is none. Its objects
    are gone when this returns, before the collector runs again."""
    page = next(pages, None)
    if page is None:
        return False
    with app.store.unit_of_work() as uow:
        take_jobs(app, uow, company, source, page.jobs, counts)
        if page.next_cursor is not None:
            uow.cursors.set(stream, page.next_cursor)
        uow.commit()
    return True


def first_cursor(company: CompanyConfig, source: SourceConfig) -> str | None:
    """Where an API source's first pull starts: its ``start`` as the watermark (changes from that day on), else
    None (the whole history). A CSV drop has no watermark; ``invoiced_elsewhere`` keeps its older jobs out."""
    start = source.start  # every kind of source config has one (None: the whole history)
    if start is None or source.kind == "csv":
        return None
    return json.dumps({"watermark": start_of_day(start, company).astimezone(UTC).isoformat().replace("+00:00", "Z")})


def pull_job(app: Runtime, company: CompanyConfig, source: SourceConfig, external_id: str) -> StepCounts:
    """Pull one job a webhook named (``fetch_job``), the same way a page is taken; the cursor does not move.

    A job the webhook named that the source no longer has (Jobber's ``JOB_DESTROY``, a Housecall Pro
    ``job.deleted``) was deleted there: its work order gets a ``deleted`` version for the rules to decide on
    (nothing is landed: the source sent nothing). If the source only failed to show it for a moment, its
    next update or pull brings a new version back.
    """
    counts = StepCounts()
    page = app.api_source_for(source, company).fetch_job(external_id)
    with app.store.unit_of_work() as uow:
        if page.jobs:
            take_jobs(app, uow, company, source, page.jobs, counts)
        else:
            gone = SourceDeletion(source=source.kind, external_id=external_id,
                                  system=SYSTEM_NAMES.get(source.kind, source.kind),
                                  evidence=f"a webhook named job {external_id} and {source.name} no longer has it")
            _apply_deletions(uow, CaseQueue(uow.cases), [gone], counts)
        uow.commit()
    return counts


def _apply_deletions(uow: UnitOfWork, queue: CaseQueue, deletions: Iterable[SourceDeletion],
                     counts: StepCounts) -> None:
    """Save a ``deleted`` version for each job a source said is deleted (``SourceDeletion.applied_to``).

    A job never held is logged and otherwise left alone: no version of it was kept, so nothing is billed
    or left to undo. One already deleted changes nothing; one the source deleted before the version held
    (a repeated export row, the job back since) stays as it is, and that is logged. The open "invalid payload"
    case of a job now deleted is resolved: there is nothing left to fix at the source.
    """
    unique = list({deletion.work_order_id: deletion for deletion in deletions}.values())
    if not unique:
        return
    versions, gone = [], {}
    for deletion in unique:
        latest = uow.work_orders.get(deletion.work_order_id)
        if latest is None:
            log.info("%s says job %s is deleted (%s); Closeout never held a version of it, so there is nothing "
                     "to bill or undo", deletion.system, deletion.external_id, deletion.evidence)
        elif (deleted := deletion.applied_to(latest, now=uow.clock())) is not None:
            versions.append(deleted)
        elif latest.status is not WorkOrderStatus.deleted:
            log.info("%s dated the deletion of job %s %s, before the version held (updated %s): the job came back "
                     "since, so it stays", deletion.system, deletion.external_id, deletion.at, latest.updated_at)
            continue
        gone[deletion.work_order_id] = deletion.system
    counts.changed += sum(saved.changed for saved in uow.work_orders.save_many(versions))
    invalid = uow.cases.open_subjects(kind=AnomalyCode.source_payload_invalid, subjects=list(gone))
    for work_order_id in sorted(invalid):
        counts.cases_resolved += _resolve_payload_cases(queue, uow, work_order_id,
                                                        note=f"the job was deleted in {gone[work_order_id]}")


def take_jobs(app: Runtime, uow: UnitOfWork, company: CompanyConfig, source: SourceConfig, jobs: Iterable[RawJob],
              counts: StepCounts) -> None:
    """Land each job as received, then map it: a work order is saved, a payload that does not map opens a case.

    A payload that maps to a ``SourceDeletion`` gives the job a deleted version (``_apply_deletions``), after
    the page's work orders are saved.

    A page is written in a few statements: its payloads landed together, its work orders (with what mail
    added to them) saved together, the 'invalid payload' cases it clears looked up together.
    """
    queue = CaseQueue(uow.cases)
    jobs = list(jobs)
    orders, deletions = [], []
    for job, landed in zip(jobs, uow.raw.land_many(jobs)):
        counts.pulled += 1
        counts.new_payloads += landed.is_new
        result = app.map_payload(source.kind, dict(job.payload), company)
        if isinstance(result, Anomaly):
            _, opened = queue.open_case(result)
            counts.cases_opened[result.code.value] += opened
            continue
        if isinstance(result, SourceDeletion):
            deletions.append(result)
            continue
        orders.append(result)
    evidence = uow.messages.evidence_for_many([order.id for order in orders])
    merged = [with_evidence(order, [MailEvidence.from_json(item) for item in evidence[order.id]])
              if order.id in evidence else order for order in orders]  # keep what mail added to the job
    saved = uow.work_orders.save_many(merged)
    invalid = uow.cases.open_subjects(kind=AnomalyCode.source_payload_invalid, subjects=[o.id for o in orders])
    for stored in saved:
        counts.changed += stored.changed
        if stored.order.id in invalid:
            counts.cases_resolved += _resolve_payload_cases(queue, uow, stored.order.id)
    _apply_deletions(uow, queue, deletions, counts)


def _resolve_payload_cases(queue: CaseQueue, uow: UnitOfWork, work_order_id: str, *,
                           note: str = "the job now maps cleanly from the source") -> int:
    """A payload that maps now, or a job now deleted, clears the 'invalid payload' case its earlier content opened."""
    case = uow.cases.find_open(kind=AnomalyCode.source_payload_invalid, subject=work_order_id)
    if case is None:
        return 0
    queue.close_if_cleared(case, note=note)
    return 1
