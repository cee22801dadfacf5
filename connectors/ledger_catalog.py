"""The record both ledger connectors answer ``read_catalog`` with: the fields of ``workorders.ports.LedgerCatalog``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class LedgerCatalog:
    """Ledger code → display name for each kind a mapping may name; None for a kind the ledger does not have.

    The same fields as ``workorders.ports.LedgerCatalog``, kept here because connectors import no layer of ours
    (``tests/connectors/test_ledger_catalogs.py`` holds the two to the same fields).
    """

    ledger: str
    items: Mapping[str, str] | None = None
    tax_codes: Mapping[str, str] | None = None
    tax_code_rates: Mapping[str, Decimal] | None = None
    accounts: Mapping[str, str] | None = None
    classes: Mapping[str, str] | None = None
    departments: Mapping[str, str] | None = None
    tracking: Mapping[str, str] | None = None
    terms: Mapping[str, str] | None = None
