"""Preflight: every ledger code a company's mapping tables name, checked against the codes its ledger really has.

The check is pure (``find_unknown_codes``, ``unknown_code``: tables and a catalog in, findings out); the shell reads
the catalog through the ledger's ``read_catalog`` (``read_ledger_catalog``) and keeps it per company for a few
minutes (``CatalogCache``), so a coordinator's form and the decision that follows it read the ledger once.

Problems (``UnknownCode.problem``):

    not_in_ledger        the ledger has that kind of list, and this code is not in it (nor active)
    kind_not_in_ledger   the table maps to a kind of list this ledger does not have (a Xero company with classes)
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.errors import ConnectorError
from services.config import CompanyConfig, ConfigError, MissingSecretError
from services.runtime import Runtime
from workorders.ports import LedgerCatalog

NOT_IN_LEDGER, KIND_NOT_IN_LEDGER = "not_in_ledger", "kind_not_in_ledger"
READ, UNREADABLE, NOT_LISTABLE = "read", "unreadable", "not_listable"
"""``CatalogRead.status``: the catalog was read; the ledger could not be read (outage, credentials); the ledger's
connector has no ``read_catalog``, so nothing can be checked."""

TABLE_KINDS = {"items": "item", "default_items": "item", "income_accounts": "account", "tax_codes": "tax_code",
               "tax_rates": "tax_code", "classes": "class", "departments": "department", "tracking": "tracking",
               "sales_term_ref": "term"}
"""Each mapping table whose values are ledger codes → the kind of code; ``customers`` is not here: a ledger's
customers are found or created at push time, never listed whole."""
KIND_FIELDS = {"item": "items", "tax_code": "tax_codes", "account": "accounts", "class": "classes",
               "department": "departments", "tracking": "tracking", "term": "terms"}
"""Kind → the ``LedgerCatalog`` field that lists it."""
KIND_WORDS = {"item": "item", "tax_code": "tax code", "account": "income account", "class": "class",
              "department": "department (location)", "tracking": "tracking category/option", "term": "term"}
LEDGER_WORDS = {"quickbooks": "QuickBooks", "xero": "Xero"}
CATALOG_TTL = 300.0
"""Seconds a read catalog is reused: long enough for a person's page and decision, short enough for a new item."""
FAILED_READ_TTL = 30.0
"""Seconds a failed read is remembered, so an outage does not make every page wait for the ledger's timeout."""


@dataclass(frozen=True)
class UnknownCode:
    """One mapping entry whose ledger code the ledger does not have; ``close_matches`` are ``(code, name)``."""

    table: str
    key: str
    code: str
    kind: str
    ledger: str
    problem: str = NOT_IN_LEDGER
    close_matches: tuple[tuple[str, str], ...] = ()

    @property
    def entry(self) -> str:
        return f"{self.table}[{self.key}]" if self.key else self.table

    def describe(self, *, entries: str = "") -> str:
        """One line for a person: what is wrong and, when there is one, the likely right code; ``entries`` names
        the entries sharing this code in place of this one's."""
        ledger, entries = LEDGER_WORDS.get(self.ledger, self.ledger), entries or self.entry
        if self.problem == KIND_NOT_IN_LEDGER:
            return f"{entries} = {self.code!r}: {ledger} has no {KIND_WORDS[self.kind]} list; leave {self.table} out"
        text = f"{entries} = {self.code!r}: {ledger} has no {KIND_WORDS[self.kind]} {self.code!r}"
        if self.close_matches:
            text += "; did you mean " + " or ".join(f"{code} ({name})" for code, name in self.close_matches) + "?"
        return text


def mapping_entries(tables: Any) -> Iterator[tuple[str, str, str, str]]:
    """``(table, key, code, kind)`` of every entry of ``tables`` (a ``MappingTables``) that names a ledger code."""
    for table, kind in TABLE_KINDS.items():
        value = getattr(tables, table, None)
        if isinstance(value, str):
            if value.strip():
                yield table, "", value, kind
        elif isinstance(value, Mapping):
            for key, code in value.items():
                yield table, str(key), str(code), kind


def find_unknown_codes(tables: Any, catalog: LedgerCatalog) -> list[UnknownCode]:
    """Every entry of ``tables`` whose code ``catalog`` does not have, in table order; pure."""
    found, matches = [], {}  # matches: one close-match search per distinct code, however many entries share it
    for table, key, code, kind in mapping_entries(tables):
        known = codes_of(catalog, kind)
        if known is None:
            found.append(UnknownCode(table, key, code, kind, catalog.ledger, KIND_NOT_IN_LEDGER))
        elif _normal(code, kind) not in known:
            if (kind, code) not in matches:
                matches[(kind, code)] = close_matches(code, known)
            found.append(UnknownCode(table, key, code, kind, catalog.ledger, close_matches=matches[(kind, code)]))
    return found


def unknown_code(table: str, key: str, code: str, catalog: LedgerCatalog) -> UnknownCode | None:
    """The finding for one entry about to be added, or None when the ledger has the code (or the table names none)."""
    kind = TABLE_KINDS.get(table)
    if kind is None:
        return None
    known = codes_of(catalog, kind)
    if known is None:
        return UnknownCode(table, key, code, kind, catalog.ledger, KIND_NOT_IN_LEDGER)
    if _normal(code, kind) in known:
        return None
    return UnknownCode(table, key, code, kind, catalog.ledger, close_matches=close_matches(code, known))


def codes_of(catalog: LedgerCatalog, kind: str) -> Mapping[str, str] | None:
    """The catalog's list of one kind (code → name), None when the ledger has no such list."""
    return getattr(catalog, KIND_FIELDS[kind], None)


def close_matches(code: str, known: Mapping[str, str], *, limit: int = 3) -> tuple[tuple[str, str], ...]:
    """Codes a person probably meant: one whose code or name is ``code`` in another case ("Parts" → 2 Parts),
    else the nearest codes and names by spelling."""
    folded = code.strip().casefold()
    same = [known_code for known_code, name in known.items()
            if known_code.casefold() == folded or name.strip().casefold() == folded]
    if same:
        return tuple((known_code, known[known_code]) for known_code in same[:limit])
    by_text: dict[str, str] = {}
    for known_code, name in known.items():
        by_text.setdefault(name.strip().casefold(), known_code)
        by_text.setdefault(known_code.casefold(), known_code)
    near = difflib.get_close_matches(folded, list(by_text), n=limit, cutoff=0.75)
    return tuple(dict.fromkeys((by_text[text], known[by_text[text]]) for text in near))


def _normal(code: str, kind: str) -> str:
    """Codes as the ledger lists them: "Region / North" is the tracking option "Region/North"."""
    if kind == "tracking":
        category, _, option = code.partition("/")
        return f"{category.strip()}/{option.strip()}"
    return code.strip()


# ---- the shell: reading a company's catalog, and keeping it a few minutes ----------------------------------


@dataclass(frozen=True)
class CatalogRead:
    """What reading one company's ledger lists gave: the catalog (``status`` read), or why there is none."""

    company: str
    ledger: str
    status: str
    catalog: LedgerCatalog | None = None
    detail: str = ""

    @property
    def was_read(self) -> bool:
        return self.status == READ and self.catalog is not None


def read_ledger_catalog(app: Runtime, company: CompanyConfig) -> CatalogRead:
    """The company's catalog through its ledger connector; never raises for the ledger's or its credentials' sake."""
    kind = company.ledger.kind
    try:
        reader = getattr(app.ledger_for(company), "read_catalog", None)
        if reader is None:
            return CatalogRead(company.id, kind, NOT_LISTABLE, detail=f"the {kind} connector cannot list its codes")
        return CatalogRead(company.id, kind, READ, catalog=reader())
    except (MissingSecretError, ConfigError) as exc:
        return CatalogRead(company.id, kind, UNREADABLE, detail=str(exc))
    except ConnectorError as exc:  # the connector's one translation already scrubbed any token from the text
        return CatalogRead(company.id, kind, UNREADABLE, detail=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - its text is not shown: it may hold a secret
        return CatalogRead(company.id, kind, UNREADABLE, detail=f"unexpected {type(exc).__name__} while reading")


class CatalogCache:
    """Each company's ``CatalogRead`` for ``ttl`` seconds (a failed one for ``failed_ttl``); safe across threads."""

    def __init__(self, app: Runtime, *, ttl: float = CATALOG_TTL, failed_ttl: float = FAILED_READ_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.ttl, self.failed_ttl, self._clock = app, ttl, failed_ttl, clock
        self._kept: dict[str, tuple[float, CatalogRead]] = {}
        self._lock = threading.Lock()

    def read(self, company: CompanyConfig, *, fresh: bool = False) -> CatalogRead:
        """The kept read while it is young enough, else a new one (``fresh``: always a new one)."""
        now = self._clock()
        with self._lock:
            kept = self._kept.get(company.id)
        if kept is not None and not fresh:
            at, read = kept
            if now - at < (self.ttl if read.status == READ else self.failed_ttl):
                return read
        read = read_ledger_catalog(self.app, company)  # outside the lock: one slow ledger never holds up another
        with self._lock:
            self._kept[company.id] = (self._clock(), read)
        return read


__all__ = ["CATALOG_TTL", "FAILED_READ_TTL", "KIND_FIELDS", "KIND_NOT_IN_LEDGER", "KIND_WORDS", "LEDGER_WORDS",
           "NOT_IN_LEDGER", "NOT_LISTABLE", "READ", "TABLE_KINDS", "UNREADABLE", "CatalogCache", "CatalogRead",
           "UnknownCode", "close_matches", "codes_of", "find_unknown_codes", "mapping_entries",
           "read_ledger_catalog", "unknown_code"]
