"""``closeout doctor``: can every source be reached, and does every mapping name a real ledger code?"""

from __future__ import annotations

from dataclasses import dataclass

from services.config import CompanyConfig, CsvSourceConfig, MissingSecretError
from services.mapping_overrides import effective_tables
from services.preflight import (LEDGER_WORDS, NOT_LISTABLE, UnknownCode, find_unknown_codes, mapping_entries,
                                read_ledger_catalog)
from services.runtime import Runtime
from connectors.errors import ConnectorError


@dataclass(frozen=True)
class SourceCheck:
    company: str
    source: str
    kind: str
    ok: bool
    detail: str


def check_sources(app: Runtime) -> list[SourceCheck]:
    """One check per configured source; a failure never stops the others. Read-only toward every source."""
    results = []
    for company in app.companies():
        for source in company.sources:
            try:
                ok, detail = True, _check(app, company, source)
            except MissingSecretError as exc:
                ok, detail = False, str(exc)
            except ConnectorError as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            results.append(SourceCheck(company.id, source.name, source.kind, ok, detail))
    return results


def _check(app: Runtime, company, source) -> str:
    if isinstance(source, CsvSourceConfig):
        if not source.path.is_dir():
            raise ConnectorError(f"the drop folder {source.path} does not exist", system="csv")
        return f"drop folder {source.path} ({len(list(source.path.glob('*.csv')))} CSV files)"
    return app.api_source_for(source, company).check()


@dataclass(frozen=True)
class MappingCheck:
    """A company's mapping tables against its ledger's lists: ``unknown`` holds every entry the ledger lacks."""

    company: str
    ledger: str
    ok: bool
    detail: str
    unknown: tuple[UnknownCode, ...] = ()
    checked: int = 0
    ledger_read: bool = True
    """False when the ledger's lists could not be read: the failure is the ledger's, not the tables'."""


def check_mappings(app: Runtime) -> list[MappingCheck]:
    """Preflight per company: every code its effective tables (file and queue overrides) name, looked up in the
    ledger's catalog before anything is pushed. An unreadable ledger fails its company only; read-only."""
    return [check_company_mappings(app, company) for company in app.companies()]


def check_company_mappings(app: Runtime, company: CompanyConfig) -> MappingCheck:
    """One company's preflight (``closeout doctor`` and the health flow): its effective tables against its
    ledger's lists; a ledger whose lists cannot be listed passes as "not checked"."""
    with app.store.unit_of_work() as uow:
        tables = effective_tables(uow, company)
    checked = sum(1 for _ in mapping_entries(tables))
    if company.ledger.kind == "xero" and company.ledger.invoice_status == "AUTHORISED" and tables.due_days is None:
        # Xero refuses an AUTHORISED invoice without a DueDate ("The document DueDate field must be
        # specified", even with default terms set: XeroAPI/xero-python#78): every push would be refused.
        return MappingCheck(company.id, "xero", False, "no due_days: Xero refuses AUTHORISED invoices "
                            "without a due date; set due_days in the mapping tables (or DRAFT invoices)")
    read = read_ledger_catalog(app, company)
    ledger = LEDGER_WORDS.get(read.ledger, read.ledger)
    if read.status == NOT_LISTABLE:
        return MappingCheck(company.id, read.ledger, True, f"not checked: {read.detail}")
    if not read.was_read or read.catalog is None:
        return MappingCheck(company.id, read.ledger, False, f"cannot read {ledger}'s lists: {read.detail}",
                            ledger_read=False)
    unknown = tuple(find_unknown_codes(tables, read.catalog))
    detail = (f"{len(unknown)} of {checked} mapping entries name codes {ledger} does not have" if unknown
              else f"all {checked} mapping entries name codes {ledger} has")
    return MappingCheck(company.id, read.ledger, not unknown, detail, unknown, checked)
