"""Line price overrides: a coordinator's new unit price for one line of a work order, applied before the rules run.

An override is stored in the mapping-overrides table (table ``line_prices``, key ``"<work_order_id>|<line
source_id>"``, value a small JSON object with the new price, the price it replaces and the reason; who and when are
the row's own columns). It applies **only while the source still says what it said when the coordinator fixed it**:
if the line's current unit price is no longer the replaced price (the source priced it, or changed it), the source
wins and the override is ignored. A line that is gone is simply not there to fix.
"""

from __future__ import annotations

import json
from decimal import Decimal

from exceptions_queue.desk import DecisionError
from exceptions_queue.service import CaseQueue
from services.runtime import ReadsOverrides, Runtime
from workorders.money import to_decimal
from workorders.work_order import WorkOrder

LINE_PRICES = "line_prices"
PRICE_FIXED = "price_fixed"
MAX_REASON = 150
MAX_STORED = 255  # the mapping-overrides table's key and value columns


def check_price(text: str) -> Decimal:
    """A unit price from what a person typed: a non-negative decimal with at most 4 places, or a clear error."""
    try:
        price = to_decimal(str(text).strip())
    except ValueError:
        raise DecisionError(f"the price must be a number like 120.00, not {text!r}") from None
    if price < 0:
        raise DecisionError(f"the price cannot be negative ({price}); a discount is its own line at the source")
    exponent = price.as_tuple().exponent
    if price > Decimal("10000000") or (isinstance(exponent, int) and exponent < -4):
        raise DecisionError(f"{price} is not a unit price Closeout accepts (at most 4 decimal places, under 10M)")
    return price


def check_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise DecisionError("say why the price changes (the reason is kept in the case's history)")
    if len(reason) > MAX_REASON:
        raise DecisionError(f"keep the reason under {MAX_REASON} characters")
    return reason


def override_key(work_order_id: str, line_id: str) -> str:
    return f"{work_order_id}|{line_id}"


def apply_line_prices(uow: ReadsOverrides, order: WorkOrder) -> WorkOrder:
    """``order`` with every stored override whose replaced price still matches the source's line; else unchanged."""
    entries = uow.mapping_overrides.for_company(order.company).get(LINE_PRICES, {})
    if not entries:
        return order
    lines, changed = [], False
    for line in order.line_items:
        stored = entries.get(override_key(order.id, line.source_id))
        fix = json.loads(stored) if stored else None
        if fix is not None and _same(line.unit_price, fix.get("replaced")):
            line = line.model_copy(update={"unit_price": Decimal(fix["price"])})
            changed = True
        lines.append(line)
    return order.model_copy(update={"line_items": tuple(lines)}) if changed else order


def store_line_price(app: Runtime, case_id: int, line_id: str, price: str, reason: str, *, actor: str) -> None:
    """Store the new price of one line of the case's work order and note it on the case (before/after).

    The caller replays the case afterwards (``services.casework.fix_price``), so the outcome shows on the case too.
    """
    new_price = check_price(price)
    reason = check_reason(reason)
    line_id = (line_id or "").strip()
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases, clock=uow.clock)
        case = queue.get(case_id)
        if case.work_order_id is None or case.work_order_version is None:
            raise DecisionError(f"case #{case_id} is not about a work order: there is no line to price")
        if not case.is_open:
            raise DecisionError(f"case #{case_id} is {case.status}: reopen it before fixing a price")
        order = uow.work_orders.get(case.work_order_id, case.work_order_version)
        if order is None:
            raise DecisionError(f"work order {case.work_order_id} v{case.work_order_version} is not in the store")
        line = next((item for item in order.line_items if item.source_id == line_id), None)
        if line is None:
            known = ", ".join(item.source_id for item in order.line_items)
            raise DecisionError(f"job {order.job_number} has no line {line_id!r} (its lines: {known})")
        replaced = None if line.unit_price is None else str(line.unit_price)
        key = override_key(order.id, line_id)
        value = json.dumps({"price": str(new_price), "replaced": replaced, "reason": reason}, separators=(",", ":"),
                           ensure_ascii=False)
        if len(value) > MAX_STORED or len(key) > MAX_STORED:
            raise DecisionError("the reason is too long to keep with the price: shorten it")
        uow.mapping_overrides.put(company=order.company, table=LINE_PRICES, key=key,
                                  value=value, actor=actor)
        before = {f"{line_id} unit price": replaced}
        after = {f"{line_id} unit price": str(new_price)}
        note = f"{line.description}: {replaced or 'no price'} → {new_price} ({reason})"
        queue.record(case_id, actor=actor, action=PRICE_FIXED, note=note, before=before, after=after)
        uow.audit.append(actor=actor, action=PRICE_FIXED, subject=f"{order.company}/{order.id}/{line_id}",
                         note=f"from case #{case_id}: {reason}", before=before, after=after)
        uow.commit()


def _same(current: Decimal | None, replaced: str | None) -> bool:
    if current is None or replaced is None:
        return current is None and replaced is None
    return current == Decimal(replaced)
