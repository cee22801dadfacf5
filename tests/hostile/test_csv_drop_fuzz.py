"""Hostile CSV files: the reader never crashes, loses no row, and every bad job is a case with its raw rows."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.csv_drop import CsvDropSource
from mappings.csv_drop import map_csv_job
from workorders.anomalies import Anomaly
from workorders.work_order import WorkOrder

FUZZ = settings(max_examples=int(os.environ.get("CLOSEOUT_FUZZ_EXAMPLES", 0)) or 120,
                derandomize=not os.environ.get("CLOSEOUT_FUZZ_EXAMPLES"), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])
HEADER = ("job_id,job_number,customer_id,customer_name,status,completed_at,updated_at,line_kind,item_code,"
          "description,quantity,unit_price,taxable\n")
GOOD_ROW = "J1,1001,C-1,Maple Street Bakery,completed,2026-11-03 14:40,2026-11-03 15:05,part,CAP,Capacitor,1,89.00,yes\n"
NASTY_CELLS = st.sampled_from([
    "", "\x00", "a\x00b", '"', '""', '"unterminated', "\r", "\n", "\r\n", ",", ";", "\t", "\ufeff", "\u2028",
    "=HYPERLINK(\"http://evil\")", "+cmd|' /C calc'!A0", "-1e999", "NaN", "1" * 400, "x" * 200_000,
    "<script>alert(1)</script>", "../../etc/passwd", "é", "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"),
])


def _read_everything(folder: Path) -> list:
    # settle_seconds=0: each file is taken as finished, so a last row without a line end is read at once
    # (the wait for a file still being written has its own tests, tests/sources/test_csv_drop_faults.py).
    source = CsvDropSource(folder, page_size=7, settle_seconds=0)
    return [job for page in source.fetch_pages(cursor=None) for job in page.jobs]


def _non_blank_rows(text: str) -> int:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return sum(1 for cells in rows[1:] if any(cell.strip() for cell in cells))


def _assert_nothing_lost(folder: Path, text: str) -> None:
    jobs = _read_everything(folder)
    delivered = sum(len(job.payload["rows"]) for job in jobs)
    assert delivered == _non_blank_rows(text), "every non-blank row is delivered in exactly one job"
    for job in jobs:
        result = map_csv_job(job.payload, company="northwind", default_timezone="America/Chicago")
        assert isinstance(result, WorkOrder | Anomaly)
        if isinstance(result, Anomaly):
            assert result.evidence["rows"] or result.evidence.get("payload"), "a bad job keeps its raw rows"


@FUZZ
@given(cells=st.lists(st.one_of(NASTY_CELLS, st.text(max_size=30)), min_size=1, max_size=40))
def test_a_file_of_hostile_cells_is_read_whole_and_every_job_is_an_order_or_a_case(tmp_path_factory, cells):
    folder = tmp_path_factory.mktemp("drop")
    body = "".join(",".join(cells[i:i + 13]).replace("\x00", "\x00") + "\n" for i in range(0, len(cells), 13))
    text = HEADER + GOOD_ROW + body
    (folder / "jobs.csv").write_text(text, encoding="utf-8", newline="")
    _assert_nothing_lost(folder, text)


@FUZZ
@given(data=st.binary(max_size=2000))
def test_a_file_of_arbitrary_bytes_never_crashes_the_reader(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("drop")
    (folder / "jobs.csv").write_bytes(HEADER.encode() + data)
    jobs = _read_everything(folder)
    for job in jobs:
        assert isinstance(map_csv_job(job.payload, company="northwind", default_timezone="UTC"), WorkOrder | Anomaly)


def test_a_cell_larger_than_the_csv_modules_field_limit_is_delivered_not_fatal(tmp_path):
    text = HEADER + GOOD_ROW + "J2,1002,C-2,Huge," + "x" * 300_000 + ",2026-11-03 14:40,,,,,,,\n"
    (tmp_path / "jobs.csv").write_text(text, encoding="utf-8")
    _assert_nothing_lost(tmp_path, text)


def test_a_quote_that_never_closes_swallows_no_job_silently(tmp_path):
    text = HEADER + GOOD_ROW + 'J2,1002,C-2,"Unclosed quote,completed,,,,,,,\nJ3,1003,C-3,Third,completed,,,,,,,,\n'
    (tmp_path / "jobs.csv").write_text(text, encoding="utf-8")
    jobs = _read_everything(tmp_path)
    # The csv module reads the rest of the file into one cell: J3 is inside J2's row, not dropped.
    assert [job.external_id for job in jobs] == ["J1", "J2"]
    assert "J3,1003" in str(jobs[1].payload["rows"])
    case = map_csv_job(jobs[1].payload, company="northwind", default_timezone="UTC")
    assert isinstance(case, Anomaly) and "J3,1003" in str(case.evidence), "the swallowed job is in front of a person"
