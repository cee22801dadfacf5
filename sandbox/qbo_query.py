"""The QBO query language: parse every SELECT form python-quickbooks sends and run it over stored entities."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.qbo_wire import query_error

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w.])|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),*])|(?P<word>[A-Za-z_][\w.]*))"
)
_ESCAPE = re.compile(r"\\(.)")
_ACTIVE_BY_DEFAULT = {"customer", "item", "account"}
DEFAULT_PAGE, MAX_PAGE = 100, 1000


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "=", "!=", "<", ">", "<=", ">=", "in", "like"
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool
    where: tuple[Condition, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    start: int
    max_results: int


def _tokens(sql: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos, text = 0, sql.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise query_error(f"Encountered unexpected text at position {pos}: {text[pos:pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "str":
            out.append(("value", _ESCAPE.sub(r"\1", raw[1:-1])))
        elif kind == "num":
            out.append(("value", Decimal(raw)))
        elif kind == "word" and raw.lower() in ("true", "false"):
            out.append(("value", raw.lower() == "true"))
        elif kind == "word":
            out.append(("word", raw))
        else:
            out.append((kind, "!=" if raw == "<>" else raw))
    return out


class _Parser:
    def __init__(self, sql: str) -> None:
        self.toks, self.i = _tokens(sql), 0

    def peek(self, word: str | None = None) -> bool:
        if self.i >= len(self.toks):
            return False
        kind, value = self.toks[self.i]
        return word is None or (kind in ("word", "punct", "op") and str(value).lower() == word)

    def take(self, kind: str | None = None, word: str | None = None) -> Any:
        if self.i >= len(self.toks):
            raise query_error(f"Encountered end of query; expected {word or kind}")
        tok_kind, value = self.toks[self.i]
        if (kind and tok_kind != kind) or (word and str(value).lower() != word):
            raise query_error(f"Encountered {value!r}; expected {word or kind}")
        self.i += 1
        return value

    def take_field_or_star(self) -> None:
        if self.peek("*"):
            self.take("punct", "*")
        else:
            self.take("word")

    def number(self) -> int:
        value = self.take("value")
        if not isinstance(value, Decimal) or value != value.to_integral_value() or value < 0:
            raise query_error(f"Encountered {value!r}; expected a whole number")
        return int(value)

    def parse(self) -> Query:
        self.take(word="select")
        count = False
        if self.peek("count"):
            for word in ("count", "(", "*", ")"):
                self.take(word=word)
            count = True
        else:
            self.take_field_or_star()  # "*", "*, Sku" or a field list: projections are ignored, as in QBO
            while self.peek(","):
                self.take(word=",")
                self.take_field_or_star()
        self.take(word="from")
        entity = self.take("word")
        where: list[Condition] = []
        order: list[tuple[str, bool]] = []
        start, max_results = 1, DEFAULT_PAGE
        if self.peek("where"):
            self.take(word="where")
            where.append(self.condition())
            while self.peek("and"):
                self.take(word="and")
                where.append(self.condition())
        while self.i < len(self.toks):
            if self.peek("orderby") or self.peek("order"):
                if self.take("word").lower() == "order":
                    self.take(word="by")
                order.append(self.order_item())
                while self.peek(","):
                    self.take(word=",")
                    order.append(self.order_item())
            elif self.peek("startposition"):
                self.take("word")
                start = max(self.number(), 1)
            elif self.peek("maxresults"):
                self.take("word")
                max_results = min(self.number(), MAX_PAGE)
            else:
                raise query_error(f"Encountered {self.toks[self.i][1]!r}")
        return Query(entity, count, tuple(where), tuple(order), start, max_results)

    def order_item(self) -> tuple[str, bool]:
        field = self.take("word")
        if self.peek("asc") or self.peek("desc"):
            return field, self.take("word").lower() == "desc"
        return field, False

    def condition(self) -> Condition:
        field = self.take("word")
        if self.peek("in"):
            self.take(word="in"), self.take(word="(")
            values = [self.take("value")]
            while self.peek(","):
                self.take(word=",")
                values.append(self.take("value"))
            self.take(word=")")
            return Condition(field, "in", tuple(values))
        if self.peek("like"):
            self.take(word="like")
            return Condition(field, "like", (self.take("value"),))
        return Condition(field, self.take("op"), (self.take("value"),))


def parse_query(sql: str) -> Query:
    """Parse one SELECT statement; a malformed one raises the QBO 4000 query Fault.

    Grammar (keywords case-insensitive, any whitespace)::

        SELECT * | count(*) | field[, field] FROM Entity
            [WHERE cond [AND cond]...] [ORDERBY | ORDER BY field [ASC|DESC][, ...]]
            [STARTPOSITION n] [MAXRESULTS n]
        cond := field (= | != | < | > | <= | >=) value | field IN (value, ...) | field LIKE 'pat%'
        value := 'text with \\' escapes' | number | true | false

    STARTPOSITION is 1-based (0 reads as 1); MAXRESULTS defaults to 100 and is capped at 1000.
    """
    return _Parser(sql).parse()


def _resolve(entity: dict[str, Any], path: str) -> Any:
    value: Any = entity
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    if isinstance(value, dict):
        return value.get("value", value.get("Address"))
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, Decimal)) or (isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value)):
        return (2, Decimal(value))
    return (3, str(value).casefold())


def _equal(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.casefold() == wanted.casefold()
    return actual is not None and _sort_key(actual) == _sort_key(wanted)


def _matches(entity: dict[str, Any], cond: Condition) -> bool:
    actual = _resolve(entity, cond.field)
    if cond.op == "in":
        return any(_equal(actual, v) for v in cond.values)
    if cond.op == "like":
        pattern = ".*".join(re.escape(part) for part in str(cond.values[0]).split("%"))
        return actual is not None and re.fullmatch(pattern, str(actual), re.IGNORECASE | re.DOTALL) is not None
    if cond.op == "=":
        return _equal(actual, cond.values[0])
    if cond.op == "!=":
        return actual is not None and not _equal(actual, cond.values[0])
    if actual is None:
        return False
    left, right = _sort_key(actual), _sort_key(cond.values[0])
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[cond.op]


def run_query(query: Query, name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``QueryResponse`` body for ``rows`` (every stored ``name`` entity of the realm): ``{}`` when none match.

    As in QBO: projections are ignored (whole objects come back), string comparison ignores case, a
    Customer/Item/Account query without an ``Active`` condition sees active rows only, and a reference
    field (``CustomerRef``) compares by its ``value``, an email (``PrimaryEmailAddr``) by its ``Address``.
    Rows come in Id order unless ORDER BY says otherwise.
    """
    where = list(query.where)
    if query.entity.lower() in _ACTIVE_BY_DEFAULT and not any(c.field.lower() == "active" for c in where):
        where.append(Condition("Active", "=", (True,)))
    hits = [row for row in rows if all(_matches({"Active": True, **row}, c) for c in where)]
    if query.count:
        return {"totalCount": len(hits)}
    for field, descending in reversed(query.order or (("Id", False),)):
        hits.sort(key=lambda row: _sort_key(_resolve(row, field)), reverse=descending)
    page = hits[query.start - 1 : query.start - 1 + query.max_results]
    return {name: page, "startPosition": query.start, "maxResults": len(page)} if page else {}
