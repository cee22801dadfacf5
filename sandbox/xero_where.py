"""Xero's ``where`` filter: ``Field=="value"`` clauses joined by AND / OR (&&, ||), AND binding tighter.

Supported: dotted fields (``Contact.ContactID``), operators ``==``, ``!=`` and ``=`` (Contacts accept the
single ``=``), values ``"text"`` (backslash escapes), ``guid("…")``, ``true``/``false`` and numbers. String
comparison ignores case, as Xero's does. Anything else → WhereError (the API answers 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_TOKEN = re.compile(r"""\s*(?:
    (?P<and>AND\b|&&) | (?P<or>OR\b|\|\|) |
    (?P<clause>(?P<field>[A-Za-z][A-Za-z0-9_.]*)\s*(?P<op>==|!=|=)\s*
        (?:"(?P<text>(?:[^"\\]|\\.)*)" | guid\("(?P<guid>[^"]*)"\) | (?P<bool>true|false) | (?P<num>-?\d+(?:\.\d+)?))
    ))""", re.VERBOSE | re.IGNORECASE)


class WhereError(ValueError):
    pass


def _value_at(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    return value


def _clause(field: str, op: str, wanted: Any) -> Callable[[dict[str, Any]], bool]:
    def test(document: dict[str, Any]) -> bool:
        actual = _value_at(document, field)
        if isinstance(wanted, str):
            same = str(actual if actual is not None else "").casefold() == wanted.casefold()
        elif isinstance(wanted, Decimal):
            try:
                same = actual is not None and Decimal(str(actual)) == wanted
            except ArithmeticError:
                same = False
        else:
            same = actual == wanted
        return not same if op == "!=" else same

    return test


def parse_where(text: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over one document (a response-shaped dict) for the filter ``text``."""
    groups: list[list[Callable[[dict[str, Any]], bool]]] = [[]]
    position, expect_clause = 0, True
    body = text.strip()
    while position < len(body):
        match = _TOKEN.match(body, position)
        if not match or match.end() == position:
            raise WhereError(f"cannot parse the where filter at {body[position:position + 30]!r}")
        position = match.end()
        if match.group("clause"):
            if not expect_clause:
                raise WhereError("two clauses without AND/OR between them")
            raw = match.group("text")
            wanted: Any
            if raw is not None:
                wanted = re.sub(r"\\(.)", r"\1", raw)
            elif match.group("guid") is not None:
                wanted = match.group("guid")
            elif match.group("bool") is not None:
                wanted = match.group("bool").lower() == "true"
            else:
                wanted = Decimal(match.group("num"))
            groups[-1].append(_clause(match.group("field"), match.group("op"), wanted))
            expect_clause = False
        else:
            if expect_clause:
                raise WhereError("AND/OR without a clause before it")
            if match.group("or"):
                groups.append([])
            expect_clause = True
    if expect_clause and body:
        raise WhereError("the where filter ends with AND/OR")
    if not body:
        return lambda document: True
    return lambda document: any(all(test(document) for test in group) for group in groups)
