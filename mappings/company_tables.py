"""Per-company, per-ledger mapping tables: which ledger item, tax code and customer each source value means."""

from __future__ import annotations

import tomllib

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workorders.work_order import JobType, LineKind

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
    """``taxable`` and ``exempt``: the ledger tax code of a line that is or is not taxed (QBO US with
    Automated Sales Tax: TAX / NON; elsewhere a TaxCode id or Xero TaxType)."""
    tax_rates: dict[str, str] = {}
    """Optional: the source's tax rate name on a line ("GST", "HST ON") → ledger tax code; a taxable line
    whose rate is not here falls back to ``tax_codes.taxable``."""
    customers: dict[str, str] = {}
    doc_number_prefix: str = ""
    due_days: int | None = Field(default=None, ge=0, le=365)
    """Days from the invoice date to its due date; None sends none and leaves it to the ledger's terms."""
    customer_due_days: dict[str, int] = {}
    """Source customer id → its own days to pay, over ``due_days``."""
    sales_term_ref: str = ""
    """QBO only: the Term id sent as SalesTermRef (the due date is still sent, so both agree)."""
    classes: dict[str, str] = {}
    """QBO: job type → Class id (ClassRef)."""
    departments: dict[str, str] = {}
    """QBO: site source id → Department (location) id; ``"*"`` for every other site."""
    tracking: dict[str, str] = {}
    """Xero: job type → tracking "Category/Option" put on every line."""

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

    @field_validator("classes", "tracking")
    @classmethod
    def _keys_are_job_types(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - {t.value for t in JobType})
        if unknown:
            raise ValueError(f"keys must be job types ({', '.join(JobType)}); unknown: {unknown}")
        return value

    @field_validator("tracking")
    @classmethod
    def _tracking_names_category_and_option(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(k for k, v in value.items() if len([p for p in v.split("/", 1) if p.strip()]) != 2)
        if bad:
            raise ValueError(f"tracking values must be \"Category/Option\"; not so for: {bad}")
        return value

    def tax_code_for(self, taxable: bool, rate: str | None = None) -> str | None:
        """An exempt line's exempt code; a taxable line's rate mapping, else the taxable code."""
        if not taxable:
            return self.tax_codes.get("exempt")
        if rate and rate in self.tax_rates:
            return self.tax_rates[rate]
        return self.tax_codes.get("taxable")

    def due_days_for(self, customer_id: str) -> int | None:
        return self.customer_due_days.get(customer_id, self.due_days)

    def department_for(self, site_id: str) -> str | None:
        return self.departments.get(site_id) or self.departments.get("*")


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
