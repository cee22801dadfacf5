"""What every source's pages share: the job and page it yields, its timestamps and its watermark cursor."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.errors import FatalError


@dataclass(frozen=True)
class SourceJob:
    """One job as a source sent it: satisfies ``workorders.ports.RawJob`` without importing it."""

    source: str
    stream: str
    external_id: str
    locator: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class SourcePage:
    """The jobs of one page and the cursor that, once they are landed, resumes after them (None: no cursor)."""

    jobs: tuple[SourceJob, ...]
    next_cursor: str | None


def parse_time(text: Any, *, system: str, label: str, field: str, standard: str = "ISO 8601") -> datetime:
    """``text`` as an aware datetime (no zone means UTC); anything else is ``FatalError`` code ``bad_timestamp``.

    The message reads ``{label} sent {field} {text!r}, not an {standard} time``.
    """
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise FatalError(f"{label} sent {field} {text!r}, not an {standard} time", system=system,
                         operation="list jobs", code="bad_timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def read_cursor(cursor: str | None, *, keys: set[str], system: str, label: str) -> dict[str, Any]:
    """The cursor's JSON object ({} for no cursor); one that is not an object of only ``keys`` is ``FatalError``."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
        if isinstance(state, dict) and set(state) <= keys:
            return state
    except ValueError:
        pass
    raise FatalError(f"{label} cursor {cursor[:80]!r} is not ours; clear it to read every job again",
                     system=system, operation="read cursor", code="bad_cursor")


def write_cursor(*, watermark: str | None, high: str | None, key: str, resume: Any) -> str:
    """The next cursor: mid-run (``resume`` not None) the old watermark, ``high`` and ``key: resume``;
    at the end ``watermark = high or watermark`` with ``high`` and ``key`` cleared."""
    state = ({"watermark": watermark, "high": high, key: resume} if resume is not None
             else {"watermark": high or watermark, "high": None, key: None})
    return json.dumps(state, sort_keys=True)


def numbered_pages(read_page: Callable[[int, str | None], tuple[list[SourceJob], str | None, bool]], *,
                   watermark: str | None, high: str | None, page: int) -> Iterator[SourcePage]:
    """Pages numbered from ``page``: ``read_page(page, high)`` answers ``(jobs, highest time seen, more)``.

    Each page is yielded with the ``{"watermark", "high", "page"}`` cursor that resumes after it; the last
    (``more`` false) moves the watermark to the highest time seen.
    """
    while True:
        jobs, high, more = read_page(page, high)
        next_cursor = write_cursor(watermark=watermark, high=high, key="page", resume=page + 1 if more else None)
        yield SourcePage(jobs=tuple(jobs), next_cursor=next_cursor)
        if not more:
            return
        page += 1


def job_id_of(row: dict[str, Any], *, system: str, label: str) -> str:
    """The job's ``id`` as text; a job without one is ``FatalError`` code ``no_id``."""
    job_id = str(row.get("id") or "")
    if not job_id:
        raise FatalError(f"{label} sent a job without an id", system=system, operation="list jobs", code="no_id")
    return job_id


def check_new_page(body: dict[str, Any], rows: list[dict[str, Any]], page: int, first_ids: set[str], *,
                   system: str, label: str) -> None:
    """Raise ``FatalError`` code ``repeated_cursor`` when the API answered ``page`` with another page number or
    with a page whose first id was already the first of a page read; otherwise remember this page's first id."""
    if body.get("page") not in (None, page) or (rows and str(rows[0].get("id")) in first_ids):
        raise FatalError(f"{label} answered page {page} with a page already read; stopping rather than "
                         "looping", system=system, operation="list jobs", code="repeated_cursor")
    if rows:
        first_ids.add(str(rows[0].get("id")))
