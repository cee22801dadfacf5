"""Invoice lines: every line priced, parts and materials identifiable, margins visible, something to bill."""

from __future__ import annotations

from workorders.rules._model import Check, RuleSettings, blocked, passed, rule, warned
from workorders.work_order import LineKind, WorkOrder, WorkOrderStatus

GOODS = (LineKind.part, LineKind.material)


@rule("line_items_priced")
def check_priced(order: WorkOrder, settings: RuleSettings) -> Check:
    """A line without a price would be billed at nothing, silently; someone must price it at the source."""
    unpriced = [
        {"line": line.source_id, "kind": line.kind.value, "item_code": line.item_code, "description": line.description}
        for line in order.line_items
        if line.unit_price is None
    ]
    if not unpriced:
        return passed(f"all {len(order.line_items)} lines have a price")
    names = ", ".join(f"{u['description']!r}" + (f" ({u['item_code']})" if u["item_code"] else "") for u in unpriced)
    return blocked(f"{len(unpriced)} line(s) without a price: {names}", unpriced=unpriced)


@rule("parts_have_item_codes", actions=("fix_at_source", "approve_override"))
def check_item_codes(order: WorkOrder, settings: RuleSettings) -> Check:
    """A part or material must carry an item code: the ledger item, stock and tax all hang on it."""
    uncoded = [{"line": line.source_id, "kind": line.kind.value, "description": line.description}
               for line in order.line_items if line.kind in GOODS and not (line.item_code or "").strip()]
    if uncoded:
        names = ", ".join(repr(u["description"]) for u in uncoded)
        return blocked(f"{len(uncoded)} part/material line(s) without an item code: {names}", uncoded=uncoded)
    goods = sum(1 for line in order.line_items if line.kind in GOODS)
    return passed(f"all {goods} part/material line(s) have an item code")


@rule("part_below_cost")
def check_below_cost(order: WorkOrder, settings: RuleSettings) -> Check:
    """Selling a part below what it cost is sometimes meant, usually a typo; finance should see it either way."""
    below = [
        {"line": line.source_id, "item_code": line.item_code, "description": line.description,
         "unit_price": str(line.unit_price), "unit_cost": str(line.unit_cost)}
        for line in order.line_items
        if line.kind in GOODS and line.unit_price is not None and line.unit_cost is not None
        and line.unit_price < line.unit_cost
    ]
    if below:
        names = ", ".join(f"{b['description']!r} at {b['unit_price']} (cost {b['unit_cost']})" for b in below)
        return warned(f"{len(below)} line(s) priced below cost: {names}", below_cost=below)
    return passed("no part or material is priced below its cost")


@rule("has_billable_lines")
def check_billable_lines(order: WorkOrder, settings: RuleSettings) -> Check:
    """A completed job with nothing to bill is lines not yet entered, or free warranty work: a person says which."""
    if order.status is not WorkOrderStatus.completed:
        return passed(f"lines are not expected yet (status {order.status.value})")
    billable = [line.source_id for line in order.line_items if line.kind is not LineKind.discount]
    if billable:
        return passed(f"{len(billable)} billable line(s)")
    return blocked("completed with no billable lines", lines=len(order.line_items))
