"""Plain JSON values: copying evidence already made of JSON types without a text round trip."""

from __future__ import annotations

import math
from typing import Any


class NotPlainJsonError(ValueError):
    """The value holds something other than dicts with text keys, lists, tuples, text, numbers, booleans or None."""


MAX_DEPTH = 64
"""Deeper nesting (or a container that holds itself) takes the general path, which names a circular reference."""


def plain_json(value: Any, _depth: int = 0) -> Any:
    """What ``json.loads(json.dumps(value))`` gives, for a value built only of exact JSON types.

    Tuples become lists and containers are copied, as the round trip does; anything else (a Decimal, a date, a
    subclass, a non-text key, a NaN) raises ``NotPlainJsonError`` so the caller takes the general, slower path.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise NotPlainJsonError("not a finite number")
        return value
    if _depth >= MAX_DEPTH:
        raise NotPlainJsonError("nested too deep")
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                raise NotPlainJsonError("a key that is not text")
            copied[key] = plain_json(item, _depth + 1)
        return copied
    if kind is list or kind is tuple:
        return [plain_json(item, _depth + 1) for item in value]
    raise NotPlainJsonError(f"{kind.__name__} is not a plain JSON type")
