"""JSON text for the store's JSON columns on SQLite, written by orjson: the value read back is the one stored."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa

_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
"""Types orjson would write where ``json.dumps`` refuses or writes otherwise: they raise, and take the old path."""

TEXT = sa.Text()
"""The bind type of a JSON column given its text already (``sa.bindparam(name, type_=TEXT)``): bound as it is."""


def stored_json(value: Any, *, general: Callable[[Any], str] = json.dumps, floats: bool = True) -> str:
    """The text a JSON column keeps for ``value``: ``json.loads`` of it equals ``json.loads(general(value))``.

    orjson writes it several times faster than the standard library, and JSON columns are most of a pull's and a
    prepare's encoding. Never for hashed text: its spacing, escapes and float spelling differ from ``json.dumps``'s,
    so every hash would change. What orjson refuses (a datetime, a dataclass, a subclass of a builtin, a Decimal,
    an integer past 64 bits, a key that is not text, nesting past 254) and a NaN or infinity (orjson writes null
    for it) take ``general``, the column's old encoder, and fail as they did. orjson writes a UUID or an Enum as
    its text, as pydantic's JSON mode (the callers' general path) does. ``floats=False`` says the value can hold no
    float (a model's JSON form with none among its fields), which skips looking for a NaN behind a null.
    """
    try:
        data = orjson.dumps(value, option=_STRICT)
    except orjson.JSONEncodeError:
        return general(value)
    if floats and b"null" in data and _has_non_finite(value):  # a non-finite float is written as null: only then look
        return general(value)
    return data.decode()


def _has_non_finite(value: Any) -> bool:
    """Whether a NaN or an infinity is anywhere in ``value`` (exact builtin types only: orjson refused the rest)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is float:
            if not math.isfinite(item):
                return True
        elif kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
    return False
