"""Per-company, per-ledger mapping tables: which ledger item, tax code and customer each source value means."""

from __future__ import annotations

import tomllib

from pydantic import BaseModel, ConfigDict, field_validator

from workorders.work_order import LineKind

TAX_KEYS = ("taxable", "exempt")


class MappingTables(BaseModel):
    """What a company's source codes are called in one ledger; kept by people, read by ``build_draft``.

    ``items`` maps an item code to a ledger item ref; ``default_items`` maps a line kind to the item used
    for a line without a code *or* with a code ``items`` does not know. Leave a kind out of
    ``default_items`` to insist that every code of that kind is mapped one by one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: dict[str, str] = {}
    default_items: dict[str, str] = {}
    income_accounts: dict[str, str] = {}
    """Optional: line kind → ledger income account, for ledgers whose items do not carry one."""
    tax_codes: dict[str, str] = {}
    customers: dict[str, str] = {}
    doc_number_prefix: str = ""

    @field_validator("default_items", "income_accounts")
    @classmethod
    def _kinds_are_line_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - {k.value for k in LineKind})
        if unknown:
            raise ValueError(f"keys must be line kinds ({', '.join(LineKind)}); unknown: {unknown}")
        return value

    @field_validator("tax_codes")
    @classmethod
    def _keys_are_tax_keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(TAX_KEYS))
        if unknown:
            raise ValueError(f"tax_codes keys must be {' or '.join(TAX_KEYS)}; unknown: {unknown}")
        return value

    def item_for(self, item_code: str | None, kind: LineKind) -> str | None:
        """The ledger item for a line: its code's mapping, else its kind's default, else None."""
        if item_code and item_code in self.items:
            return self.items[item_code]
        return self.default_items.get(kind.value)

    def tax_code_for(self, taxable: bool) -> str | None:
        return self.tax_codes.get("taxable" if taxable else "exempt")


def parse_mapping_tables(text: str) -> MappingTables:
    """Tables from TOML text whose top-level keys are the fields (see ``closeout/demo/mapping_tables.toml``).

    Raises ``ValueError`` (pydantic's or TOML's) for a malformed file: this is configuration, read when
    the application starts, and a wrong table must stop it rather than misfile invoices.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"mapping tables are not valid TOML: {exc}") from exc
    return MappingTables.model_validate(data)
