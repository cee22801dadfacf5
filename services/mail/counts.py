"""What a mail ingest did, counted: the mailbox summary table and its share of the pipeline's run summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from services.counts import StepCounts


@dataclass
class MailCounts:
    fetched: int = 0
    duplicates: int = 0
    matched: int = 0
    unmatched: int = 0
    unparseable: int = 0
    too_large: int = 0
    attachments_stored: int = 0
    attachments_skipped: int = 0
    versions: int = 0
    cases_opened: Counter = field(default_factory=Counter)
    methods: Counter = field(default_factory=Counter)

    def __add__(self, other: "MailCounts") -> "MailCounts":
        merged = MailCounts()
        for name in ("fetched", "duplicates", "matched", "unmatched", "unparseable", "too_large", "attachments_stored",
                     "attachments_skipped", "versions"):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        merged.cases_opened = self.cases_opened + other.cases_opened
        merged.methods = self.methods + other.methods
        return merged

    def as_rows(self) -> list[dict[str, str]]:
        rows = [("messages fetched", self.fetched), ("already stored (skipped)", self.duplicates),
                ("attached to work orders", self.matched), ("queued: unmatched or ambiguous", self.unmatched),
                ("queued: unparseable", self.unparseable),
                ("queued: over the message size cap (headers kept)", self.too_large),
                ("attachments stored", self.attachments_stored),
                ("attachments over the size cap", self.attachments_skipped),
                ("work order versions from mail", self.versions)]
        rows += [(f"matched by {method}", n) for method, n in sorted(self.methods.items())]
        rows += [(f"cases opened: {kind}", n) for kind, n in sorted(self.cases_opened.items())]
        return [{"measure": name, "value": str(value)} for name, value in rows]

    def as_step_counts(self) -> StepCounts:
        """For the pipeline's run summary: new work order versions and the cases mail opened."""
        return StepCounts(changed=self.versions, cases_opened=Counter(self.cases_opened))
