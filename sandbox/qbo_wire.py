"""What the QBO sandbox puts on the wire: exact-Decimal JSON, Fault bodies, the 401 and throttle bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

JSON = "application/json"
XML = "application/xml"

THROTTLE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{time}">'
    '<Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.  Try again later</Detail>"
    "</Error></Fault></IntuitResponse>"
)


def now_stamp() -> str:
    """QBO's ``time`` format: local ISO time with milliseconds and offset, e.g. 2017-09-29T09:17:31.892-07:00."""
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="milliseconds")


def loads(text: str | bytes) -> Any:
    """Parse JSON keeping every non-integer number as an exact Decimal (never a float)."""
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any) -> str:
    """Serialise JSON with Decimals written as bare numbers, digit for digit (``150.00`` stays ``150.00``)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        text = str(value)
        return text if "E" not in text else format(value, "f")
    if isinstance(value, float):
        raise TypeError("the sandbox never writes floats; use Decimal")
    return json.dumps(value)


@dataclass(frozen=True)
class Reply:
    """A finished HTTP answer; what is stored for ``requestid`` replay and sent back byte for byte."""

    status: int
    body: str
    content_type: str = JSON


class QboFault(Exception):
    """A business or validation error, answered as ``{"Fault": {...}, "time": ...}``."""

    def __init__(
        self, code: str, message: str, detail: str, *,
        element: str = "", kind: str = "ValidationFault", status: int = 400,
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code, self.message, self.detail = code, message, detail
        self.element, self.kind, self.status = element, kind, status

    def reply(self) -> Reply:
        error = {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}
        return Reply(self.status, dumps({"Fault": {"Error": [error], "type": self.kind}, "time": now_stamp()}))


def ok(body: dict[str, Any]) -> Reply:
    """A 200 answer with QBO's ``time`` stamp appended."""
    return Reply(200, dumps({**body, "time": now_stamp()}))


def unauthorized() -> Reply:
    """The 401 Intuit sends for a missing or refused bearer token (lower-case keys: not a normal Fault)."""
    error = {"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401", "code": "3200"}
    return Reply(401, dumps({"fault": {"error": [error], "type": "AUTHENTICATION"}, "time": now_stamp()}))


def throttled() -> Reply:
    """The 429 throttle answer, in XML even though the client asked for JSON (as the real API does)."""
    return Reply(429, THROTTLE_XML.format(time=now_stamp()), XML)


def system_fault() -> Reply:
    """A 500 SystemFault, as QBO answers when something breaks on its side."""
    return QboFault(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your data.",
        kind="SystemFault",
        status=500,
    ).reply()


# ---- the canned Faults the endpoints raise ------------------------------------------------------


def required(element: str) -> QboFault:
    return QboFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element=element,
    )


def invalid_reference(kind: str, value: str, element: str) -> QboFault:
    return QboFault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {kind} with Id {value!r} does not exist or is inactive",
        element=element,
    )


def not_found(entity: str, ident: str) -> QboFault:
    return QboFault(
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. {entity} Id={ident}",
    )


def query_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")
