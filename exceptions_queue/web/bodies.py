"""Request bodies from outside, read only up to their limits: a form or a JSON object, or a clear 400/413."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request

MAX_FORM_BYTES = 1_000_000
"""A form of the queue (a bulk decision on 500 cases carries ~10 kB); sign-in forms are far smaller."""
MAX_FORM_FIELDS = 5000
MAX_JSON_BYTES = 100_000
"""One decision of the JSON API: a few short fields."""


class RequestBodyError(Exception):
    """A body refused before it is held whole or parsed: ``status`` 413 (too big) or 400 (not what was asked)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request: Request, *, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes (declared or streamed), so memory
    follows the limit and not what a stranger sends."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestBodyError(413, f"the request body is over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestBodyError(413, f"the request body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form_fields(request: Request) -> dict[str, list[str]]:
    """The url-encoded form, at most ``MAX_FORM_BYTES`` and ``MAX_FORM_FIELDS`` fields."""
    body = (await read_body(request, limit=MAX_FORM_BYTES)).decode("utf-8", errors="replace")
    try:
        return parse_qs(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # parse_qs: "Max number of fields exceeded"
        raise RequestBodyError(413, f"the form has more than {MAX_FORM_FIELDS} fields") from None


async def read_json_object(request: Request) -> dict[str, Any]:
    """The body as one JSON object, at most ``MAX_JSON_BYTES``; anything else is a 400 saying what to send."""
    body = await read_body(request, limit=MAX_JSON_BYTES)
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        raise RequestBodyError(400, "the request body is not valid JSON: send one JSON object") from None
    if not isinstance(value, dict):
        raise RequestBodyError(400, "send one JSON object, e.g. {\"decision\": \"assign\", \"assignee\": \"dana\"}")
    return value


__all__ = ["MAX_FORM_BYTES", "MAX_FORM_FIELDS", "MAX_JSON_BYTES", "RequestBodyError", "read_body", "read_form_fields",
           "read_json_object"]
