"""Counts each step returns, added up into the run summary people read on the dashboard."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from workorders.totals import CurrencyTotals, sum_by_currency


@dataclass
class StepCounts:
    pulled: int = 0
    new_payloads: int = 0
    changed: int = 0
    evaluated: int = 0
    ready: int = 0
    no_invoice: int = 0
    blocked: int = 0
    drafts: int = 0
    drafts_superseded: int = 0
    """Drafts of older versions withdrawn before they reached the ledger, because a newer version came."""
    pushed: int = 0
    pushed_amount: Decimal = Decimal(0)
    """The pushed drafts' amounts added up whatever their currency: never shown, ``by_currency`` is what people read."""
    rejected: int = 0
    uncertain: int = 0
    files_attached: int = 0
    invoices_emailed: int = 0
    cases_opened: Counter = field(default_factory=Counter)
    rule_outcomes: Counter = field(default_factory=Counter)  # (rule id, outcome) -> decisions
    cases_resolved: int = 0
    invoices: list[dict] = field(default_factory=list)
    held_back: list[dict] = field(default_factory=list)
    """Drafts a dry run (``push = false``) would have sent: company, job, amount, currency (services.push.dry_run)."""
    failed: dict[str, str] = field(default_factory=dict)
    """Each company step that could not run (``northwind ledger quickbooks``) → why; its case says more."""

    def __add__(self, other: "StepCounts") -> "StepCounts":
        merged = StepCounts()
        for name in ("pulled", "new_payloads", "changed", "evaluated", "ready", "no_invoice", "blocked", "drafts",
                     "drafts_superseded", "pushed", "pushed_amount", "rejected", "uncertain", "cases_resolved",
                     "files_attached",
                     "invoices_emailed"):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        merged.cases_opened = self.cases_opened + other.cases_opened
        merged.rule_outcomes = self.rule_outcomes + other.rule_outcomes
        merged.invoices = self.invoices + other.invoices
        merged.held_back = self.held_back + other.held_back
        merged.failed = {**self.failed, **other.failed}
        return merged

    def failure_lines(self) -> list[str]:
        """``<company> <kind> <name>: why`` for each step that could not run."""
        return [f"{step}: {why}" for step, why in self.failed.items()]

    def by_currency(self) -> list[CurrencyTotals]:
        """The invoices pushed, summed per currency (never across): subtotal, the ledger's tax, total."""
        def money(value: str | None) -> Decimal | None:
            return None if value is None else Decimal(value)

        return sum_by_currency((row.get("currency") or "", Decimal(row.get("subtotal") or row["amount"]),
                                money(row.get("tax")), money(row.get("total"))) for row in self.invoices)

    def outcome_totals(self) -> Counter:
        """Rule decisions by outcome (pass, warn, block, transform, no_invoice) over every rule."""
        totals: Counter = Counter()
        for (_, outcome), count in self.rule_outcomes.items():
            totals[outcome] += count
        return totals

    def as_rows(self) -> list[dict[str, str]]:
        """The summary as a two-column table (for the Prefect artifact and the CLI)."""
        rows = [(f"FAILED: {step}", why) for step, why in self.failed.items()]
        rows += [
            ("jobs pulled", self.pulled),
            ("new or changed payloads", self.new_payloads),
            ("work orders changed", self.changed),
            ("work orders evaluated", self.evaluated),
            ("ready to invoice", self.ready),
            ("no invoice needed", self.no_invoice),
            ("blocked by rules", self.blocked),
            ("drafts prepared", self.drafts),
            ("unsent drafts withdrawn for a newer version", self.drafts_superseded),
            ("invoices pushed", self.pushed),
            *((f"invoiced in {entry.currency or 'the ledger currency'}", describe_totals(entry))
              for entry in self.by_currency()),
            *((("dry run (push = false): invoices held back", len(self.held_back)),) if self.held_back else ()),
            *((f"would have invoiced in {entry.currency or 'the ledger currency'}", describe_totals(entry))
              for entry in sum_by_currency((row["currency"], Decimal(row["amount"]), None, None)
                                           for row in self.held_back)),
            ("rejected by the ledger", self.rejected),
            ("uncertain pushes", self.uncertain),
            ("sign-offs and photos attached", self.files_attached),
            ("invoices e-mailed to customers", self.invoices_emailed),
            ("cases resolved by themselves", self.cases_resolved),
        ]
        rows += [(f"cases opened: {kind}", count) for kind, count in sorted(self.cases_opened.items())]
        rows += [(f"rule outcome: {outcome}", count) for outcome, count in sorted(self.outcome_totals().items())]
        rows += [(f"rule {rule}: {outcome}", count) for (rule, outcome), count in sorted(self.rule_outcomes.items())
                 if outcome != "pass"]
        return [{"measure": name, "value": str(value)} for name, value in rows]


def describe_totals(entry: CurrencyTotals) -> str:
    """``subtotal 100.00 + tax 8.25 = 108.25 USD`` (the tax as the ledger computed it)."""
    if not entry.tax_known:
        return f"subtotal {entry.subtotal:.2f} {entry.currency} (tax as the ledger computes it)"
    return f"subtotal {entry.subtotal:.2f} + tax {entry.tax:.2f} = {entry.total:.2f} {entry.currency}"


def describe_amounts(entries: Iterable[CurrencyTotals]) -> str:
    """``27,582.50 USD; 3,311.00 NZD``: each currency's total (its subtotal while a tax is unknown), never one
    sum across currencies; "nothing" when there is none."""
    return "; ".join(f"{entry.total if entry.tax_known else entry.subtotal:,.2f} {entry.currency}".rstrip()
                     for entry in entries) or "nothing"
