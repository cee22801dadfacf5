"""The Cutover a company's rules see: what `closeout cutover` stored, with each source's ``start`` (services.cutover)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from services.config import CompanyConfig
from workorders.ports import Cutovers
from workorders.rules import Cutover


def start_of_day(day: date, company: CompanyConfig) -> datetime:
    """Midnight of ``day`` in the company's timezone: a date a person gives means their own day."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(company.timezone))


def cutover_for(cutovers: Cutovers, company: CompanyConfig) -> Cutover:
    """The Cutover the company's rules see: what ``closeout cutover`` stored, with each source's ``start``."""
    stored = cutovers.for_company(company.id)
    starts = {source.kind: start_of_day(source.start, company) for source in company.sources
              if source.start is not None}
    return stored.model_copy(update={"source_starts": starts}) if starts else stored
