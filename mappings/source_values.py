"""Values every API source sends in its own way: money (floats, cents, decimal strings) and times (with or without zone).

Each reader raises ``PayloadError`` naming the field; ``map_or_case`` turns that into one anomaly
that keeps the raw payload, so a bad job becomes a case and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from workorders.anomalies import Anomaly, AnomalyCode
from workorders.work_order import WorkOrder


class PayloadError(ValueError):
    """A field of a source payload that cannot be read; ``field`` is its dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def decimal_from(value: Any, field: str, *, required: bool = True) -> Decimal | None:
    """An exact Decimal from a JSON float (``Decimal(str(x))``: the digits the API printed), int or decimal string."""
    if value is None or value == "":
        if required:
            raise PayloadError(field, "a number is required")
        return None
    if isinstance(value, bool):
        raise PayloadError(field, f"{value!r} is not a number")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise PayloadError(field, f"{value!r} is not a number") from None
    if not result.is_finite():
        raise PayloadError(field, f"{value!r} is not a finite number")
    return result


def cents_from(value: Any, field: str, *, required: bool = True) -> Decimal | None:
    """Integer cents (Housecall Pro) as an exact Decimal of currency units."""
    amount = decimal_from(value, field, required=required)
    if amount is None:
        return None
    if amount != amount.to_integral_value():
        raise PayloadError(field, f"{value!r} is not a whole number of cents")
    return amount / 100


def time_from(value: Any, field: str, *, zone: str, required: bool = False) -> datetime | None:
    """An aware UTC datetime; a time without a zone is read in ``zone`` (the company's, from config)."""
    if value is None or value == "":
        if required:
            raise PayloadError(field, "a date-time is required")
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(field, f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed.astimezone(UTC)


def text_from(value: Any) -> str:
    return "" if value is None else str(value).strip()


def nodes_of(payload: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The ``nodes`` of a GraphQL connection (or a plain list), objects only."""
    value = payload.get(name)
    if isinstance(value, Mapping):
        value = value.get("nodes")
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def invalid_payload(
    *, source: str, external_id: str | None, company: str, problem: str, payload: Any
) -> Anomaly:
    """The case for a payload Closeout cannot map: what is wrong, and the payload exactly as received."""
    subject = f"{source}:{external_id}" if external_id else f"{source}:(no id)"
    return Anomaly(
        code=AnomalyCode.source_payload_invalid, subject=subject, company=company,
        summary=f"{source} job {external_id or '(no id)'} cannot be mapped: {problem}",
        evidence={"problem": problem, "payload": payload},
        work_order_id=subject if external_id else None, suggested_actions=("fix_at_source", "fix_mapping_and_replay"),
    )


def map_or_case(
    payload: Any, build: Callable[[Mapping[str, Any], str], WorkOrder], *, source: str, company: str,
    job_key: str | None, no_id: tuple[str, str],
) -> WorkOrder | Anomaly:
    """``build(job, external_id)`` for the job at ``payload[job_key]`` (the payload itself if ``job_key`` is None).

    Never raises for bad input: a job that is not an object or has no ``id`` is the case ``no_id``
    (field, problem); ``PayloadError`` (its message) or pydantic's ``ValidationError`` (its first error,
    ``loc: msg``) from ``build`` is the ``invalid_payload`` case keeping ``payload``; so is a TypeError,
    AttributeError, KeyError, IndexError, ValueError or ArithmeticError a field of an unexpected shape raises.
    """
    job = (payload if job_key is None else payload.get(job_key)) if isinstance(payload, Mapping) else None
    external_id = text_from(job.get("id")) if isinstance(job, Mapping) else ""
    try:
        if not isinstance(job, Mapping) or not external_id:
            raise PayloadError(*no_id)
        return build(job, external_id)
    except PayloadError as exc:
        problem = str(exc)
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    except (TypeError, AttributeError, KeyError, IndexError, ValueError, ArithmeticError, RecursionError) as exc:
        # A field of a shape the source never documented (a list where an object was, a bool for a list):
        # the payload is untrusted input, so its surprise is a case that keeps it, never a crashed run.
        problem = f"a field has a shape Closeout does not read ({type(exc).__name__}: {str(exc)[:200]})"
    return invalid_payload(source=source, external_id=external_id or None, company=company, problem=problem,
                           payload=payload)
