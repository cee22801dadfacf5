"""One company's rule configuration: which rules run, for which job types, with which parameters.

In the config file it is ``[companies.rules]``; each rule may have its own table named by its id::

    [companies.rules]
    approval_threshold = "5000.00"
    disabled = ["job_note_present"]

    [companies.rules.labour_from_time_entries]
    rates = { normal = "125.00", after_hours = "187.50", emergency = "225.00" }
    increment_minutes = 15

A wrong value is refused when the config is read, and the message names the company, the rule and the field.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from workorders.money import Money
from workorders.work_order import JobType

LABOUR_TIERS = ("normal", "after_hours", "emergency")


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


Amount = Annotated[Money, AfterValidator(_not_negative)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleSection(_Strict):
    """What every rule's table may say: whether it runs, and for which job types (default: the rule's own)."""

    enabled: bool = True
    job_types: tuple[JobType, ...] | None = None


class LabourRates(_Strict):
    """The rate card: price per hour by tier. A tier left out cannot be billed from time entries."""

    normal: Amount | None = None
    after_hours: Amount | None = None
    emergency: Amount | None = None


class LabourSettings(RuleSection):
    """Parameters of ``labour_from_time_entries``."""

    rates: LabourRates = LabourRates()
    item_codes: dict[str, str] = {"normal": "LAB-STD", "after_hours": "LAB-AH", "emergency": "LAB-AH"}
    increment_minutes: int = Field(default=15, ge=1, le=60, description="billed time is rounded up to this")
    minimum_hours: Amount = Decimal("1")
    tolerance_hours: Amount = Field(default=Decimal("0.25"), description="billed vs recorded hours may differ this much")
    business_hours_start: time = time(7, 0)
    business_hours_end: time = time(18, 0)
    weekends_after_hours: bool = True
    taxable: bool = False

    @field_validator("item_codes")
    @classmethod
    def _tiers_only(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(LABOUR_TIERS))
        if unknown:
            raise ValueError(f"keys must be {', '.join(LABOUR_TIERS)}; unknown: {unknown}")
        return value


class PhotoSettings(RuleSection):
    """Parameters of ``photos_before_after``: installations by default."""

    job_types: tuple[JobType, ...] | None = (JobType.installation,)


class RuleSettings(_Strict):
    """One company's rule settings. Add a field here (with a default) when a rule needs a new knob."""

    require_sign_off: bool = True
    approval_threshold: Amount = Decimal("5000")
    send_invoices_by_email: bool = False
    disabled: frozenset[str] = frozenset()

    labour_from_time_entries: LabourSettings = LabourSettings()
    photos_before_after: PhotoSettings = PhotoSettings()
    cancelled_no_invoice: RuleSection = RuleSection()
    invoiced_elsewhere: RuleSection = RuleSection()
    job_not_completed: RuleSection = RuleSection()
    no_charge_no_invoice: RuleSection = RuleSection()
    not_invoiced_before: RuleSection = RuleSection()
    sign_off_required: RuleSection = RuleSection()
    job_note_present: RuleSection = RuleSection()
    line_items_priced: RuleSection = RuleSection()
    parts_have_item_codes: RuleSection = RuleSection()
    part_below_cost: RuleSection = RuleSection()
    change_requests_approved: RuleSection = RuleSection()
    approval_over_amount: RuleSection = RuleSection()
    duplicate_job: RuleSection = RuleSection()
    billing_email_present: RuleSection = RuleSection()
    currency_matches_ledger: RuleSection = RuleSection()
    has_billable_lines: RuleSection = RuleSection()
    no_formula_text: RuleSection = RuleSection()

    @field_validator("disabled")
    @classmethod
    def _known_rules(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = sorted(value - set(rule_ids()))
        if unknown:
            raise ValueError(f"unknown rule id(s) {unknown}; known: {', '.join(rule_ids())}")
        return value

    def section(self, rule_id: str) -> RuleSection:
        """The rule's table; a rule that is not built in (a test's, a plug-in's) gets the defaults."""
        found = self.__dict__.get(rule_id)  # a field's value (only fields are kept there); None for any other id
        return found if isinstance(found, RuleSection) else RuleSection()


def rule_ids() -> tuple[str, ...]:
    """The ids a company may name: every field of RuleSettings that is a rule's table."""
    return tuple(name for name, f in RuleSettings.model_fields.items()
                 if isinstance(f.default, RuleSection))
