"""Mapping tables as a company's drafts see them: the config's tables with the queue's overrides on top."""

from __future__ import annotations

from services.config import CompanyConfig
from services.preflight import KIND_WORDS, LEDGER_WORDS, READ, TABLE_KINDS, CatalogRead, unknown_code
from services.runtime import ReadsOverrides
from mappings.company_tables import TAX_KEYS, MappingTables
from workorders.work_order import LineKind

EDITABLE_TABLES = ("items", "default_items", "tax_codes", "income_accounts", "customers")
LEDGER_CHECKED = tuple(table for table in EDITABLE_TABLES if table in TABLE_KINDS)
"""The editable tables whose values are ledger codes, checked against the ledger's catalog before they are stored."""


class MappingOverrideError(ValueError):
    """The mapping entry cannot be added as asked (the message says which part is wrong)."""


def effective_tables(uow: ReadsOverrides, company: CompanyConfig) -> MappingTables:
    """``company.mappings`` with every stored override merged over it (an override wins over the file)."""
    overrides = uow.mapping_overrides.for_company(company.id)
    if not overrides:
        return company.mappings
    base = company.mappings
    merged = {table: {**getattr(base, table), **entries} for table, entries in overrides.items()
              if table in EDITABLE_TABLES}
    return base.model_copy(update=merged)


def check_override(table: str, key: str, value: str) -> tuple[str, str, str]:
    """The entry trimmed, or a clear error: the same rules the config file's tables follow."""
    table, key, value = table.strip(), key.strip(), value.strip()
    if table not in EDITABLE_TABLES:
        raise MappingOverrideError(f"table must be one of {', '.join(EDITABLE_TABLES)}, not {table!r}")
    if not key or not value:
        raise MappingOverrideError("both the source key and the ledger value are needed")
    if len(key) > 255 or len(value) > 255:
        raise MappingOverrideError("keys and values are at most 255 characters")
    if table == "tax_codes" and key not in TAX_KEYS:
        raise MappingOverrideError(f"tax_codes keys are {' or '.join(TAX_KEYS)}, not {key!r}")
    if table in ("default_items", "income_accounts") and key not in {k.value for k in LineKind}:
        raise MappingOverrideError(f"{table} keys are line kinds ({', '.join(LineKind)}), not {key!r}")
    return table, key, value


def check_against_ledger(table: str, key: str, value: str, read: CatalogRead) -> str:
    """Refuse a code the ledger was read and does not have (MappingOverrideError, saying what it may have meant).

    When the ledger could not be read (an outage, credentials) the entry is not refused: a person deciding during
    an outage is trusted over a list we could not see, and a wrong code still comes back as a refused push. The
    answer is then why it went unchecked, for the case history; "" when it was checked or names no ledger code.
    """
    if table not in LEDGER_CHECKED:
        return ""
    if read.status != READ or read.catalog is None:
        return read.detail or "the ledger could not be read"
    found = unknown_code(table, key, value, read.catalog)
    if found is None:
        return ""
    text, ledger = found.describe(), LEDGER_WORDS.get(read.ledger, read.ledger)
    what = KIND_WORDS[found.kind]
    raise MappingOverrideError(f"{text}{'' if text.endswith('?') else '.'} Nothing was stored: choose from the "
                               f"{ledger} {what} list.")
