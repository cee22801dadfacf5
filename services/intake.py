"""Intake: land every raw payload, map it, store the work order or open a case; the cursor moves last."""

from __future__ import annotations

from collections.abc import Iterable

from services.config import CompanyConfig, SourceConfig
from services.counts import StepCounts
from services.runtime import Runtime, UnitOfWork
from exceptions_queue.service import CaseQueue
from mappings.mail_evidence import MailEvidence, with_evidence
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.deletions import deleted_at_source
from workorders.ports import RawJob


SYSTEM_NAMES = {"jobber": "Jobber", "housecallpro": "Housecall Pro", "servicetitan": "ServiceTitan", "csv": "the CSV drop"}


def cursor_name(company: CompanyConfig, source: SourceConfig) -> str:
    return f"{company.id}/{source.kind}/{source.name}"


def pull_source(app: Runtime, company: CompanyConfig, source: SourceConfig) -> StepCounts:
    """Pull every page changed since the cursor; each page commits with its cursor, so a crash loses nothing."""
    counts = StepCounts()
    stream = cursor_name(company, source)
    with app.store.unit_of_work() as uow:
        cursor = uow.cursors.get(stream)
    for page in app.source_for(source, company).fetch_pages(cursor=cursor):
        with app.store.unit_of_work() as uow:
            take_jobs(app, uow, company, source, page.jobs, counts)
            if page.next_cursor is not None:
                uow.cursors.set(stream, page.next_cursor)
            uow.commit()
    return counts


def pull_job(app: Runtime, company: CompanyConfig, source: SourceConfig, external_id: str) -> StepCounts:
    """Pull one job a webhook named (``fetch_job``), the same way a page is taken; the cursor does not move.

    A job the webhook named that the source no longer has (Jobber's ``JOB_DESTROY``, a Housecall Pro
    ``job.deleted``) was deleted there: its work order gets a ``deleted`` version for the rules to decide on.
    If the source only failed to show it for a moment, its next update or pull brings a new version back.
    """
    counts = StepCounts()
    page = app.api_source_for(source, company).fetch_job(external_id)
    with app.store.unit_of_work() as uow:
        if page.jobs:
            take_jobs(app, uow, company, source, page.jobs, counts)
        else:
            _record_deletion(uow, source, external_id, counts)
        uow.commit()
    return counts


def _record_deletion(uow: UnitOfWork, source: SourceConfig, external_id: str, counts: StepCounts) -> None:
    latest = uow.work_orders.get(f"{source.kind}:{external_id}")
    if latest is None:
        return  # never pulled: nothing of it was kept, so nothing is left to bill or to undo
    deleted = deleted_at_source(latest, at=uow.clock(), system=SYSTEM_NAMES.get(source.kind, source.kind),
                                evidence=f"a webhook named job {external_id} and {source.name} no longer has it")
    if deleted is not None:
        counts.changed += sum(saved.changed for saved in uow.work_orders.save_many([deleted]))


def take_jobs(app: Runtime, uow: UnitOfWork, company: CompanyConfig, source: SourceConfig, jobs: Iterable[RawJob],
              counts: StepCounts) -> None:
    """Land each job as received, then map it: a work order is saved, a payload that does not map opens a case.

    A page is written in a few statements: its payloads landed together, its work orders (with what mail
    added to them) saved together, the 'invalid payload' cases it clears looked up together.
    """
    queue = CaseQueue(uow.cases)
    jobs = list(jobs)
    orders = []
    for job, landed in zip(jobs, uow.raw.land_many(jobs)):
        counts.pulled += 1
        counts.new_payloads += landed.is_new
        result = app.map_payload(source.kind, dict(job.payload), company)
        if isinstance(result, Anomaly):
            _, opened = queue.open_case(result)
            counts.cases_opened[result.code.value] += opened
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


def _resolve_payload_cases(queue: CaseQueue, uow: UnitOfWork, work_order_id: str) -> int:
    """A payload that maps now clears the 'invalid payload' case its earlier content opened."""
    case = uow.cases.find_open(kind=AnomalyCode.source_payload_invalid, subject=work_order_id)
    if case is None:
        return 0
    queue.close_if_cleared(case, note="the job now maps cleanly from the source")
    return 1
