"""Labour: time entries become labour lines at the rate card's rate, and billed hours must match recorded time."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from workorders.money import round_money
from workorders.rules._model import Check, RuleContext, blocked, passed, rule, transformed
from workorders.rules._settings import LABOUR_TIERS, LabourSettings, RuleSettings
from workorders.work_order import JobType, LineItem, LineKind, TimeEntry, WorkOrder, WorkOrderStatus

HUNDREDTH = Decimal("0.01")
TIER_NAMES = {"normal": "normal rate", "after_hours": "after-hours rate", "emergency": "emergency rate"}


def site_zone(order: WorkOrder) -> ZoneInfo:
    try:
        return ZoneInfo(order.site.timezone)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


def tier_of(entry: TimeEntry, order: WorkOrder, labour: LabourSettings) -> str:
    """Emergency jobs bill at the emergency rate; other work outside business hours (site time) at after-hours."""
    if order.job_type is JobType.emergency:
        return "emergency"
    local = entry.start.astimezone(site_zone(order))
    if labour.weekends_after_hours and local.weekday() >= 5:
        return "after_hours"
    if not labour.business_hours_start <= local.time() < labour.business_hours_end:
        return "after_hours"
    return "normal"


def rounded_hours(seconds: int, increment_minutes: int) -> Decimal:
    """Time rounded up to the increment, as hours to the hundredth (20 minutes bill as 0.33 h)."""
    step = increment_minutes * 60
    steps = (Decimal(max(seconds, 0)) / step).to_integral_value(rounding=ROUND_CEILING)
    return (steps * step / Decimal(3600)).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def _stamp(moment: datetime, order: WorkOrder) -> str:
    return moment.astimezone(site_zone(order)).isoformat(timespec="minutes")


@rule("labour_from_time_entries", actions=("fix_at_source", "edit_rate_card", "approve_override"))
def check_labour(order: WorkOrder, settings: RuleSettings, context: RuleContext | None = None) -> Check:
    """Labour is billed from recorded time at the company's rates, so nobody bills hours that were not worked."""
    labour = settings.labour_from_time_entries
    if order.status is not WorkOrderStatus.completed:
        return passed(f"labour is billed once the job is completed (status {order.status.value})")
    entries = [e for e in order.time_entries if e.billable]
    billed_lines = [line for line in order.line_items if line.kind is LineKind.labour]
    if not entries:
        return passed("no billable time recorded; labour lines (if any) are billed as entered",
                      labour_lines=len(billed_lines))
    recorded_seconds = sum(int((e.end - e.start).total_seconds()) for e in entries)
    recorded = (Decimal(recorded_seconds) / 3600).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)
    if billed_lines:
        return _compare(order, labour, billed_lines, recorded, rounded_hours(recorded_seconds, labour.increment_minutes))
    return _bill_from_time(order, labour, entries)


def _compare(order: WorkOrder, labour: LabourSettings, lines: list[LineItem], recorded: Decimal,
             rounded: Decimal) -> Check:
    billed = sum((line.quantity for line in lines), Decimal(0))
    expected = max(rounded, labour.minimum_hours)
    gap = min(abs(billed - recorded), abs(billed - expected))
    evidence = {"billed_hours": str(billed), "recorded_hours": str(recorded), "expected_hours": str(expected),
                "tolerance_hours": str(labour.tolerance_hours), "lines": [line.source_id for line in lines]}
    if gap > labour.tolerance_hours:
        reason = (f"{billed} labour hours billed but {recorded} h recorded (billable {expected} h after rounding "
                  f"and minimum); the difference is over the {labour.tolerance_hours} h tolerance")
        return blocked(reason, **evidence)
    return passed(f"{billed} labour hours billed for {recorded} h recorded, within {labour.tolerance_hours} h",
                  **evidence)


def _bill_from_time(order: WorkOrder, labour: LabourSettings, entries: list[TimeEntry]) -> Check:
    ordered = sorted(entries, key=lambda e: (e.start, e.source_id))
    tiers = {e.source_id: tier_of(e, order, labour) for e in ordered}
    seconds = {tier: 0 for tier in LABOUR_TIERS}
    first_day = {}
    for entry in ordered:
        tier = tiers[entry.source_id]
        seconds[tier] += int((entry.end - entry.start).total_seconds())
        first_day.setdefault(tier, entry.start.astimezone(site_zone(order)).date())
    hours = {tier: rounded_hours(s, labour.increment_minutes) for tier, s in seconds.items() if s > 0}
    before = {"labour_lines": [], "time_entries": [
        {"entry": e.source_id, "technician": e.technician_id, "start": _stamp(e.start, order),
         "end": _stamp(e.end, order), "hours": str(e.hours), "tier": tiers[e.source_id]} for e in ordered]}
    missing = [tier for tier in hours if getattr(labour.rates, tier) is None]
    if missing:
        names = ", ".join(missing)
        return blocked(f"time was recorded at the {names} rate but the company's rate card has no {names} rate",
                       missing_rates=missing, before=before)
    total = sum(hours.values(), Decimal(0))
    minimum_applied = total < labour.minimum_hours
    if minimum_applied:
        first = tiers[ordered[0].source_id]
        hours[first] += labour.minimum_hours - total
    lines = tuple(
        LineItem(source_id=f"{order.external_id}:time:{tier}", kind=LineKind.labour,
                 description=f"Labour, {TIER_NAMES[tier]}", quantity=quantity, unit_price=getattr(labour.rates, tier),
                 item_code=labour.item_codes.get(tier), taxable=labour.taxable, service_date=first_day[tier])
        for tier, quantity in hours.items()
    )
    after = {"labour_lines": [
        {"line": line.source_id, "tier": tier, "hours": str(line.quantity), "rate": str(line.unit_price),
         "amount": str(round_money(line.quantity * line.unit_price)), "item_code": line.item_code}
        for tier, line in zip(hours, lines)]}
    summary = ", ".join(f"{line.quantity} h at {line.unit_price}" for line in lines)
    reason = f"billed {summary} from {len(ordered)} time entr{'y' if len(ordered) == 1 else 'ies'}"
    if minimum_applied:
        reason += f" (minimum charge of {labour.minimum_hours} h applied)"
    result = order.model_copy(update={"line_items": lines + order.line_items})
    return transformed(reason, result, before=before, after=after, increment_minutes=labour.increment_minutes,
                       minimum_hours=str(labour.minimum_hours), minimum_applied=minimum_applied)
