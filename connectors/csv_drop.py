"""A folder of CSV files as a source: every row delivered, grouped by job, values left as typed, read as a stream.

A file is never held in memory: its rows are read one at a time (``connectors.csv_rows``) and delivered in
pages of whole jobs, and the cursor moves with every page, so a file of any size makes progress even when
the process is killed part-way (the next run resumes after the last committed page). Memory is one page
(``CsvLimits``) plus the ids of the jobs already delivered from the file being read (a number each).

Grouping. A job is the rows with one ``job_id``; a row without one is a job of its own. A page ends only
where the job id changes, never inside a job's run of rows. Rows of one job that are not together in the
file are still one job: within a page they are simply grouped, and when a job comes back after its earlier
rows were delivered on an earlier page (or run), the page that meets it again reads the file up to that page
once more and delivers the job with all its rows, the earlier ones first. The later, complete delivery is a
new version of the same payload, so intake replaces the partial one before anything is prepared (pull runs
to the end before prepare); nothing is ever delivered as two jobs. Keeping a job's rows together is what
exporters do, and it keeps that second read away.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from connectors.csv_rows import CHUNK, UNDECODABLE, UTF8, Row, RowReader
from connectors.errors import FatalError
from connectors.source_paging import SourceJob, SourcePage

SOURCE = "csv"
JOB_ID_COLUMN = "job_id"
EXTRA_CELLS = "__extra__"
"""Key under which a row keeps the cells it has beyond the header: the mapping reports them, we keep them."""
MiB = 1024 * 1024

log = logging.getLogger("closeout.csv_drop")


@dataclass(frozen=True)
class CsvLimits:
    """What one page may hold, and how rows are read. Each is a setting of the CSV source (README, "The CSV drop").

    A page holds at most ``page_size`` jobs, and ends between two jobs once it holds ``max_rows_per_job``
    rows or ``page_bytes`` bytes of rows, so it never holds more than twice either. A job with more rows
    than ``max_rows_per_job``, or more bytes than ``page_bytes``, keeps its first rows up to the limit and
    is a case naming the first row left out. A row longer than ``max_row_bytes`` (an unclosed quote, a
    pasted blob) is a case of its own and the reading goes on at the next line.
    """

    page_size: int = 100
    max_rows_per_job: int = 1000
    page_bytes: int = 8 * MiB
    max_row_bytes: int = 1 * MiB
    fallback_encoding: str | None = "cp1252"
    """A line that is not UTF-8 is read in this encoding (what Excel on Windows writes), and the decision is
    logged naming the rows; None (``""`` in the config) reads UTF-8 only. A file that starts with a UTF-8
    byte order mark declares itself UTF-8 and gets no fallback. A row readable in neither is a case."""
    settle_seconds: float = 60.0
    """A last row without a line end (or ending inside a quote) may still be being written: it is read once
    the file has not changed for this long, and waits for a later run until then. 0 reads it at once."""

    def __post_init__(self) -> None:
        for name in ("page_size", "max_rows_per_job", "page_bytes", "max_row_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_row_bytes > self.page_bytes:
            raise ValueError("max_row_bytes cannot be more than page_bytes: a page holds at least one row")


@dataclass(frozen=True)
class _Done:
    """A file delivered to its end: its SHA-256, and its size when it ended with a line end (appendable)."""

    sha256: str
    size: int | None


@dataclass(frozen=True)
class _Resume:
    """A file delivered up to ``offset``; the bytes before it hash to ``sha256``."""

    offset: int
    sha256: str


@dataclass
class _Progress:
    """What the cursor says after each page: the files done and the place reached in the others."""

    done: dict[str, _Done] = field(default_factory=dict)
    partial: dict[str, _Resume] = field(default_factory=dict)

    def cursor(self) -> str:
        state: dict[str, Any] = {
            "files": {name: {"sha256": d.sha256, "size": d.size} for name, d in sorted(self.done.items())}}
        if self.partial:
            state["partial"] = {name: {"offset": r.offset, "sha256": r.sha256} for name, r in sorted(self.partial.items())}
        return json.dumps(state, separators=(",", ":"))


@dataclass
class _Job:
    """One job's rows on a page, kept up to the job limits; what is left out is counted and named."""

    key: str
    has_id: bool
    comes_back: bool = False
    """Its id was delivered before, from earlier in the file: its earlier rows are read again (``_recollect``)."""
    rows: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    """``(row number, bytes, payload row)``."""
    size: int = 0
    left_out: int = 0
    first_left_out: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    def take(self, number: int, size: int, entry: dict[str, Any], limits: CsvLimits) -> bool:
        if len(self.rows) >= limits.max_rows_per_job or self.size + size > limits.page_bytes:
            self.first_left_out = self.first_left_out or number
            self.left_out += 1
            return False
        self.rows.append((number, size, entry))
        self.size += size
        return True


@dataclass
class _Page:
    start: int
    """Offset of the page's first row: the rows before it were delivered on earlier pages or runs."""
    jobs: dict[str, _Job] = field(default_factory=dict)
    rows: int = 0
    size: int = 0

    def full(self, limits: CsvLimits) -> bool:
        return (len(self.jobs) >= limits.page_size or self.rows >= limits.max_rows_per_job
                or self.size >= limits.page_bytes)

    def take(self, job: _Job, row: Row, header: _Header, limits: CsvLimits) -> None:
        """The row into its job, unless the job is already as large as a job may be; its problems with it."""
        size = row.end - row.start
        if not job.take(row.number, size, header.payload(row), limits):
            return
        self.rows += 1
        self.size += size
        if row.cells is None:
            job.problems.append({"row": row.number, "column": "", "message": row.problem})
        elif row.encoding == UNDECODABLE:
            fallback = limits.fallback_encoding
            tried = f"UTF-8 nor {fallback}" if fallback else "UTF-8 (and no fallback_encoding is set)"
            job.problems.append({"row": row.number, "column": "", "message": (
                f"the row is neither {tried}: it is kept byte for byte (as latin-1); save the file as UTF-8")})


class _Header:
    """The header row's column names, and how a row's cells become its payload values."""

    def __init__(self, cells: list[str]) -> None:
        self.columns = [cell.strip() for cell in cells]
        # The last column of a name wins, as when DictReader zips a row.
        where = {column: index for index, column in enumerate(self.columns)}
        self._job_id = where.get(JOB_ID_COLUMN)

    def job_id(self, row: Row) -> str:
        if row.cells is None or self._job_id is None or self._job_id >= len(row.cells):
            return ""
        return row.cells[self._job_id].strip()

    def payload(self, row: Row) -> dict[str, Any]:
        """``{"row", "values"}``, values zipped as DictReader does (a short row leaves columns None, extra cells
        go under ``__extra__``); a row read in another encoding than UTF-8 says which; an unread row shows its start."""
        entry: dict[str, Any] = {"row": row.number}
        if row.cells is None:
            entry["values"], entry["preview"] = {}, row.preview
            return entry
        if len(row.cells) == len(self.columns):
            values: dict[str, Any] = dict(zip(self.columns, row.cells))
        else:
            values = {column: None for column in self.columns}
            values.update(zip(self.columns, row.cells))
        if len(row.cells) > len(self.columns):
            values[EXTRA_CELLS] = row.cells[len(self.columns):]
        entry["values"] = values
        if row.encoding not in (None, UTF8):
            entry["encoding"] = row.encoding
        return entry


class _Rows:
    """Row numbers to name in one log line: the first ``SHOWN``, and how many in all."""

    SHOWN = 20

    def __init__(self) -> None:
        self.first: list[int] = []
        self.count = 0

    def add(self, number: int) -> None:
        self.count += 1
        if len(self.first) < self.SHOWN:
            self.first.append(number)

    def log(self, file: str, encoding: str | None) -> None:
        if self.count:
            more = f" ({self.count:,} rows in all)" if self.count > len(self.first) else ""
            log.warning("%s: %s%s %s not UTF-8, read as %s (the configured fallback_encoding); each such row "
                        "records its encoding", file, _describe_rows(self.first), more,
                        "is" if self.count == 1 else "are", encoding)


class CsvDropSource:
    """Reads ``*.csv`` in ``folder`` (by name), never writes, moves or renames anything there.

    The cursor is ``{"files": {name: {"sha256", "size"}}, "partial": {name: {"offset", "sha256"}}}``: the files
    delivered to their end, and how far the others were delivered (the byte offset of the next row and the
    hash of the bytes before it). A file whose name and content are in ``files`` is skipped, so a quiet day
    costs one hash per file. A file that only grew (its old bytes hash the same) and a file in ``partial``
    are read on from where they were left; any other change reads the file again from its start (landing
    dedupes by content). A file renamed is recognised by its content, under its new name: a finished one is
    not delivered again, a half-read one is read on. Hidden files (``.name.csv``) are in-flight uploads and
    wait. The older cursor ``{"files": {name: sha256}}`` is read as files done.
    """

    def __init__(self, folder: Path, *, name: str = SOURCE, **limits: Any) -> None:
        self.folder = Path(folder)
        self.name = name
        self.limits = CsvLimits(**limits)

    @property
    def page_size(self) -> int:
        return self.limits.page_size

    def fetch_pages(self, *, cursor: str | None) -> Iterator[SourcePage]:
        """Pages of whole jobs from new, grown, changed or half-read files; each page's cursor resumes after it."""
        done, partial = _read_cursor(cursor)
        progress = _Progress()
        last = cursor
        for path, resume in self._plan(self._list_files(), done, partial, progress):
            for page in self._read(path, resume, progress):
                if page.jobs or page.next_cursor != last:  # a last row still waiting moves nothing
                    last = page.next_cursor
                    yield page
        if progress.cursor() != last:  # files renamed or gone since: the cursor says so, with no jobs to deliver
            yield SourcePage(jobs=(), next_cursor=progress.cursor())

    # which files, and from where

    def _plan(self, paths: list[Path], done: dict[str, _Done], partial: dict[str, _Resume],
              progress: _Progress) -> list[tuple[Path, _Resume | None]]:
        names = {p.name for p in paths}
        gone_done = {n: d for n, d in done.items() if n not in names}
        gone_partial = {n: r for n, r in partial.items() if n not in names}
        plan: list[tuple[Path, _Resume | None]] = []
        for path in paths:
            if path.name in done:
                entry = done[path.name]
                state = self._compare(path, entry)
                if state == "same":
                    progress.done[path.name] = entry
                elif state == "grown":
                    progress.partial[path.name] = resume = _Resume(entry.size or 0, entry.sha256)
                    plan.append((path, resume))
                else:
                    plan.append((path, None))
                continue
            resume = partial.get(path.name)
            if resume is None and (gone_done or gone_partial):
                renamed = self._renamed(path, gone_done, gone_partial)
                if isinstance(renamed, _Done):
                    progress.done[path.name] = renamed
                    continue
                resume = renamed
            if resume is not None:
                progress.partial[path.name] = resume
            plan.append((path, resume))
        return plan

    def _compare(self, path: Path, entry: _Done) -> str:
        """``same``, ``grown`` (the old bytes unchanged, more after them) or ``changed``."""
        size = self._size(path)
        if entry.size is None or size == entry.size:
            return "same" if self._sha256(path) == entry.sha256 else "changed"
        if size > entry.size and self._sha256(path, limit=entry.size) == entry.sha256:
            return "grown"
        return "changed"

    def _renamed(self, path: Path, gone_done: dict[str, _Done],
                 gone_partial: dict[str, _Resume]) -> _Done | _Resume | None:
        """The entry of a file no longer in the folder whose content this new file has: it was renamed."""
        size = self._size(path)
        whole = None
        for old, entry in list(gone_done.items()):
            if entry.size in (None, size):
                whole = whole or self._sha256(path)
                if whole == entry.sha256:
                    log.info("%s is %s renamed (same content): it is not delivered again", path.name, old)
                    return gone_done.pop(old)
        for old, resume in list(gone_partial.items()):
            if size >= resume.offset and self._sha256(path, limit=resume.offset) == resume.sha256:
                log.info("%s is %s renamed while it was being read: reading on from byte %d", path.name, old,
                         resume.offset)
                return gone_partial.pop(old)
        return None

    # reading one file

    def _read(self, path: Path, resume: _Resume | None, progress: _Progress) -> Iterator[SourcePage]:
        """The pages of one file from ``resume`` (or its start); the last marks it done, or holds back its
        unfinished last row. When the bytes before ``resume`` changed, the file is read from its start."""
        limits, name = self.limits, path.name
        with _reading(path, "read file"), path.open("rb", buffering=0) as handle:
            settled = time.time() - os.fstat(handle.fileno()).st_mtime >= limits.settle_seconds
            reader = RowReader(handle, fallback=limits.fallback_encoding, max_row_bytes=limits.max_row_bytes)
            header: _Header | None = None
            seen: set[int] = set()  # hashes of the job ids delivered from this file before the current page
            page, current = _Page(start=0), None
            fallback = _Rows()
            for row in reader.rows():
                if header is None:
                    if not row.complete and not settled:
                        progress.partial.pop(name, None)
                        return  # even the header is still being written: the whole file waits
                    header = _Header(row.cells or [])
                    page.start = row.end
                    continue
                if resume is not None:  # the part delivered before: only the ids, to know a job coming back
                    if row.start < resume.offset:
                        if job_id := header.job_id(row):
                            seen.add(hash(job_id))
                        continue
                    if row.start != resume.offset or row.sha_before.hexdigest() != resume.sha256:
                        log.info("%s changed before byte %d since it was last read: reading it from its start",
                                 name, resume.offset)
                        yield from self._read(path, None, progress)
                        return
                    resume, page.start = None, row.start
                if row.cells is not None and not any(cell.strip() for cell in row.cells):
                    continue  # a row of empty cells says nothing, as a blank line
                if not row.complete and not settled:
                    progress.partial[name] = _Resume(row.start, row.sha_before.hexdigest())
                    log.info("%s ends in row %d without a line end and changed less than %s s ago: the row may "
                             "still be being written, so it waits for a later run", name, row.number,
                             limits.settle_seconds)
                    yield self._page(handle, page, name, header, seen, progress)
                    fallback.log(name, limits.fallback_encoding)
                    return
                job_id = header.job_id(row)
                key = job_id or f"{name}#row{row.number}"
                # A page ends between jobs, never inside a job's run of rows. A job coming back to a full page
                # after other jobs starts the next page, which reads its earlier rows again: twice the limits
                # at most, whatever the order of the rows.
                if key != current and page.full(limits):
                    progress.partial[name] = _Resume(row.start, row.sha_before.hexdigest())
                    yield self._page(handle, page, name, header, seen, progress)
                    page = _Page(start=row.start)
                current = key
                if row.encoding not in (None, UTF8, UNDECODABLE):
                    fallback.add(row.number)
                job = page.jobs.get(key)
                if job is None:
                    job = page.jobs[key] = _Job(key=key, has_id=bool(job_id),
                                                comes_back=bool(job_id) and hash(job_id) in seen)
                page.take(job, row, header, limits)
            if resume is not None and not (reader.position == resume.offset
                                           and reader.sha256.hexdigest() == resume.sha256):
                log.info("%s is shorter than when it was last read: reading it from its start", name)
                yield from self._read(path, None, progress)
                return
            progress.partial.pop(name, None)
            progress.done[name] = _Done(reader.sha256.hexdigest(),
                                        reader.position if reader.ends_with_line_end else None)
            yield self._page(handle, page, name, header or _Header([]), seen, progress)
            fallback.log(name, limits.fallback_encoding)

    def _page(self, handle: BinaryIO, page: _Page, file: str, header: _Header, seen: set[int],
              progress: _Progress) -> SourcePage:
        back = {job.key: job for job in page.jobs.values() if job.comes_back}
        if back:
            self._recollect(handle, file, page.start, header, back)
        seen.update(hash(job.key) for job in page.jobs.values() if job.has_id)
        jobs = tuple(self._source_job(file, job) for job in page.jobs.values())
        return SourcePage(jobs=jobs, next_cursor=progress.cursor())

    def _recollect(self, handle: BinaryIO, file: str, before: int, header: _Header, jobs: dict[str, _Job]) -> None:
        """Put back in front of each job its rows from the file before ``before``, read again (see the module)."""
        log.warning("%s: job %s comes back after rows of other jobs, on a later page; reading the file up to "
                    "byte %d again to deliver it whole (keep a job's rows together to spare that)", file,
                    ", ".join(sorted(jobs)[:5]) + (f" and {len(jobs) - 5} more" if len(jobs) > 5 else ""), before)
        limits = self.limits
        earlier = {key: _Job(key=key, has_id=True) for key in jobs}
        rows = RowReader(handle, fallback=limits.fallback_encoding, max_row_bytes=limits.max_row_bytes).rows()
        next(rows, None)  # the header
        scratch = _Page(start=0)
        for row in rows:
            if row.start >= before:
                break
            if (job_id := header.job_id(row)) in earlier:
                scratch.take(earlier[job_id], row, header, limits)
        for key, job in jobs.items():
            whole = earlier[key]
            for number, size, entry in job.rows:
                whole.take(number, size, entry, limits)
            job.rows, job.size = whole.rows, whole.size
            job.left_out += whole.left_out
            job.first_left_out = min(filter(None, (job.first_left_out, whole.first_left_out)), default=0)
            job.problems = whole.problems + job.problems

    def _source_job(self, file: str, job: _Job) -> SourceJob:
        rows = [entry for _, _, entry in job.rows]
        encodings = {entry["encoding"] for entry in rows if "encoding" in entry}
        order = (UTF8, self.limits.fallback_encoding, UNDECODABLE)
        payload: dict[str, Any] = {"file": file, "encoding": "+".join(e for e in order if e in encodings) or UTF8,
                                   "rows": rows}
        problems = list(job.problems)
        if job.left_out:
            limits = self.limits
            problems.append({"row": job.first_left_out, "column": "", "message": (
                f"the job has {job.left_out:,} rows more than a job may have ({limits.max_rows_per_job:,} rows or "
                f"{limits.page_bytes:,} bytes: max_rows_per_job, page_bytes); they are not read, from this row on")})
        if problems:
            payload["problems"] = problems
        locator = f"{file}:{_describe_rows([number for number, _, _ in job.rows])}"
        return SourceJob(source=SOURCE, stream=file, external_id=job.key, locator=locator, payload=payload)

    # the folder

    def _list_files(self) -> list[Path]:
        if not self.folder.is_dir():
            raise FatalError(
                f"CSV drop folder {str(self.folder)!r} does not exist or is not a folder",
                system=self.name,
                operation="list files",
            )
        with _reading(self.folder, "list files"):
            entries = list(self.folder.iterdir())
            wanted = (p for p in entries if p.suffix.lower() == ".csv" and not p.name.startswith(".") and p.is_file())
            return sorted(wanted, key=lambda p: p.name)

    def _size(self, path: Path) -> int:
        with _reading(path, "read file"):
            return path.stat().st_size

    def _sha256(self, path: Path, *, limit: int | None = None) -> str:
        """SHA-256 of the file, or of its first ``limit`` bytes, read in pieces."""
        digest, left = hashlib.sha256(), limit
        with _reading(path, "read file"), path.open("rb") as handle:
            while left is None or left > 0:
                data = handle.read(CHUNK if left is None else min(CHUNK, left))
                if not data:
                    break
                digest.update(data)
                left = None if left is None else left - len(data)
        return digest.hexdigest()


@contextmanager
def _reading(path: Path, operation: str) -> Iterator[None]:
    """The one place an ``OSError`` of the folder becomes this source's ``FatalError``, naming the file."""
    try:
        yield
    except OSError as exc:
        raise FatalError(f"cannot {operation.split()[0]} {path.name}: {exc.strerror or exc}", system=SOURCE,
                         operation=operation) from exc


def _describe_rows(numbers: list[int]) -> str:
    """``rows 2-5`` or ``rows 2-3, 9`` or ``row 7``."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    text = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)
    return f"row {text}" if len(numbers) == 1 else f"rows {text}"


def _read_cursor(cursor: str | None) -> tuple[dict[str, _Done], dict[str, _Resume]]:
    if not cursor:
        return {}, {}
    try:
        state = json.loads(cursor)
        done = {name: _Done(entry, None) if isinstance(entry, str) else _Done(str(entry["sha256"]), entry["size"])
                for name, entry in state["files"].items()}
        partial = {name: _Resume(int(entry["offset"]), str(entry["sha256"]))
                   for name, entry in state.get("partial", {}).items()}
        if all(d.size is None or isinstance(d.size, int) for d in done.values()):
            return done, partial
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    raise FatalError(
        f"CSV cursor {cursor[:80]!r} is not ours (expected {{\"files\": {{name: {{sha256, size}}}}}}); "
        "clear it to deliver every file again",
        system=SOURCE,
        operation="read cursor",
    )
