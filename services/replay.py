"""Replay: map every job of a source again from its landed raw payload, without calling the source.

After a mapping fix, ``closeout replay --source jobber`` turns the stored payloads into work orders again:
a job whose mapping now differs gets a new version, one that now maps clears its invalid-payload case,
one that still does not map keeps (or opens) its case. Cursors never move.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.config import CompanyConfig, ConfigError, SourceConfig
from services.counts import StepCounts
from services.intake import take_jobs
from services.runtime import Runtime
from connectors.source_http import SourceJob

BATCH = 200


@dataclass(frozen=True)
class ReplayTarget:
    company: CompanyConfig
    source: SourceConfig


def find_target(app: Runtime, kind: str, company_id: str | None) -> ReplayTarget:
    """The one configured source of ``kind`` (in ``company_id`` when given); the error says what to add."""
    found = [
        ReplayTarget(company, source)
        for company in app.companies()
        if company_id in (None, company.id)
        for source in company.sources
        if source.kind == kind
    ]
    if not found:
        where = f"company {company_id!r}" if company_id else "any company"
        raise ConfigError(f"no source of kind {kind!r} is configured for {where}")
    if len({t.company.id for t in found}) > 1:
        names = ", ".join(sorted({t.company.id for t in found}))
        raise ConfigError(f"several companies have a {kind!r} source ({names}); pass --company")
    return found[0]


def replay_source(app: Runtime, kind: str, *, company_id: str | None = None) -> StepCounts:
    """Re-map the current raw payload of every job landed by source ``kind``, a batch per unit of work."""
    target = find_target(app, kind, company_id)
    counts = StepCounts()
    with app.store.unit_of_work() as reader:
        rows = list(reader.raw.replay(source=kind))
    for start in range(0, len(rows), BATCH):
        jobs = [SourceJob(source=kind, stream=stream, external_id=external_id, locator=locator, payload=payload)
                for stream, external_id, locator, payload in rows[start : start + BATCH]]
        with app.store.unit_of_work() as uow:
            take_jobs(app, uow, target.company, target.source, jobs, counts)
            uow.commit()
    return counts
