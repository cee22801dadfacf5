"""Corrections: what a newer version's invoice would change on the one already invoiced, line by line (pure)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workorders.drafts import DraftLine, InvoiceDraft
from workorders.money import Money

__all__ = ["NOT_BILLABLE", "DraftDiff", "FieldChange", "LineChange", "diff_drafts"]

NOT_BILLABLE = frozenset({"work_order_version", "idempotency_key", "attachment_hashes"})
"""Draft fields that do not change what the customer is billed. The version, and the key derived from it, name
the draft rather than say anything on it. Attachments are evidence sent beside the invoice: a new photo proves
the work, it prices nothing, and the customer owes the same. Every other field, one added later included, is
billable: a field nobody has classified is compared, so the doubt goes to a person, not to silence."""

_BY_LINE = frozenset({"lines", "total"})  # compared line by line; the totals are reported before and after
_LINE_AMOUNT = frozenset({"amount"})  # quantity times price: reported before and after, not as a field


class FieldChange(BaseModel):
    """One field that differs, with its values as the drafts' JSON shows them."""

    model_config = ConfigDict(frozen=True)

    field: str
    before: Any
    after: Any

    def describe(self) -> str:
        return f"{self.field} {_shown(self.before)} -> {_shown(self.after)}"


class LineChange(BaseModel):
    """A line of the invoice added, removed or changed; a changed line names each field that differs."""

    model_config = ConfigDict(frozen=True)

    change: Literal["added", "removed", "changed"]
    description: str
    amount_before: Money | None = None
    amount_after: Money | None = None
    fields: tuple[FieldChange, ...] = ()
    before: DraftLine | None = Field(default=None, exclude=True, repr=False)
    """The invoiced line itself (not in the evidence): a credit note credits it, or the part of it removed."""
    after: DraftLine | None = Field(default=None, exclude=True, repr=False)

    def describe(self) -> str:
        if self.change == "added":
            return f"added line {self.description!r}: amount {self.amount_after}"
        if self.change == "removed":
            return f"removed line {self.description!r}: amount {self.amount_before}"
        changed = "; ".join(f.describe() for f in self.fields)
        return f"changed line {self.description!r}: {changed}; amount {self.amount_before} -> {self.amount_after}"


class DraftDiff(BaseModel):
    """The invoiced draft against a newer one: billable when a field outside ``NOT_BILLABLE`` or a line differs."""

    model_config = ConfigDict(frozen=True)

    fields: tuple[FieldChange, ...] = ()
    lines: tuple[LineChange, ...] = ()
    total_before: Money
    total_after: Money
    attachments_added: tuple[str, ...] = ()
    attachments_removed: tuple[str, ...] = ()

    @property
    def billable(self) -> bool:
        return bool(self.fields or self.lines)

    def describe(self) -> tuple[str, ...]:
        """The diff as plain text, one change a line, the totals last."""
        lines = [f.describe() for f in self.fields] + [line.describe() for line in self.lines]
        return (*lines, f"total {self.total_before} -> {self.total_after}")

    def summary(self) -> str:
        """One line: how many lines changed, which fields, and the totals."""
        parts = [f"{n} line(s) {change}" for change in ("added", "removed", "changed")
                 if (n := sum(1 for line in self.lines if line.change == change))]
        if self.fields:
            parts.append(", ".join(f.field for f in self.fields) + " changed")
        return "; ".join([*parts, f"total {self.total_before} -> {self.total_after}"])

    def evidence(self) -> dict[str, Any]:
        """The diff as plain JSON for a decision's evidence, with its text lines under ``diff``."""
        return {**self.model_dump(mode="json"), "diff": list(self.describe())}


def diff_drafts(invoiced: InvoiceDraft, new: InvoiceDraft) -> DraftDiff:
    """What ``new`` would change on the invoice ``invoiced`` became, field by field and line by line.

    Values are compared as values (``42.0`` equals ``42.00``). A field the invoiced draft was stored without
    (Closeout learnt to send it after that invoice went out) is not compared while it holds its default there:
    the job did not change, Closeout did. Lines pair first with an identical line anywhere (order is not
    billable), then by kind and description (a changed line); the rest were removed or added.
    """
    before_hashes, after_hashes = set(invoiced.attachment_hashes), set(new.attachment_hashes)
    return DraftDiff(
        fields=_field_changes(invoiced, new, skip=NOT_BILLABLE | _BY_LINE),
        lines=_line_changes(invoiced.lines, new.lines),
        total_before=invoiced.total, total_after=new.total,
        attachments_added=tuple(h for h in new.attachment_hashes if h not in before_hashes),
        attachments_removed=tuple(h for h in invoiced.attachment_hashes if h not in after_hashes),
    )


def _field_changes(before: BaseModel, after: BaseModel, *, skip: frozenset[str]) -> tuple[FieldChange, ...]:
    """Every field of the two models (computed ones included) outside ``skip`` whose values differ.

    Values are compared as attributes, not as their dump: money serialises as text, and ``"125"`` is not
    ``"125.00"`` though the amounts are equal.
    """
    model = type(before)
    shown_before, shown_after = before.model_dump(mode="json"), after.model_dump(mode="json")
    changes = []
    for name in [*model.model_fields, *model.model_computed_fields]:
        if name in skip or not _known(before, name):
            continue
        if getattr(before, name) != getattr(after, name):
            changes.append(FieldChange(field=name, before=shown_before.get(name), after=shown_after.get(name)))
    return tuple(changes)


def _known(model: BaseModel, name: str) -> bool:
    """Whether the stored model said anything about ``name``: it was given, or it differs from the default."""
    info = type(model).model_fields.get(name)
    if info is None or name in model.model_fields_set:
        return True
    return getattr(model, name) != info.get_default(call_default_factory=True)


def _line_changes(before: tuple[DraftLine, ...], after: tuple[DraftLine, ...]) -> tuple[LineChange, ...]:
    unmatched = list(after)
    left: list[DraftLine] = []
    for line in before:
        same = next((i for i, other in enumerate(unmatched) if not _differences(line, other)), None)
        if same is None:
            left.append(line)
        else:
            del unmatched[same]
    changes: list[LineChange] = []
    for line in left:
        match = next((i for i, other in enumerate(unmatched)
                      if (other.kind, other.description) == (line.kind, line.description)), None)
        if match is None:
            changes.append(LineChange(change="removed", description=line.description, amount_before=line.amount,
                                      before=line))
            continue
        other = unmatched.pop(match)
        changes.append(LineChange(change="changed", description=line.description, amount_before=line.amount,
                                  amount_after=other.amount, fields=_differences(line, other), before=line, after=other))
    changes += [LineChange(change="added", description=line.description, amount_after=line.amount, after=line)
                for line in unmatched]
    return tuple(changes)


def _differences(before: DraftLine, after: DraftLine) -> tuple[FieldChange, ...]:
    return _field_changes(before, after, skip=_LINE_AMOUNT)


def _shown(value: Any) -> str:
    return "(none)" if value is None else str(value)
