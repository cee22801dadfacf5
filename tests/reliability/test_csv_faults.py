"""The campaign's CSV faults against the CSV source alone: files growing while read, a cut last row, renames."""

from __future__ import annotations

import time

from connectors.csv_drop import CsvDropSource
from reliability.csv_faults import CsvFaults

SETTLE = 1.0


def _pull(source: CsvDropSource, cursor: str | None, seen: dict[str, list[dict]]) -> str | None:
    for page in source.fetch_pages(cursor=cursor):
        for job in page.jobs:
            seen.setdefault(job.external_id, []).append(job.payload)
        cursor = page.next_cursor or cursor
    return cursor


def test_jobs_appended_cut_and_renamed_while_the_source_reads_all_land_whole_and_a_cut_row_is_read_once_settled(
        tmp_path):
    folder = tmp_path / "jobs"
    folder.mkdir()
    faults = CsvFaults(folder, 40, seed=3, pause=0.2)
    source = CsvDropSource(folder, page_size=5, settle_seconds=SETTLE)
    seen: dict[str, list[dict]] = {}
    cursor = None

    faults.start()
    while not faults.finished.is_set():
        cursor = _pull(source, cursor, seen)
        time.sleep(0.05)
    time.sleep(SETTLE + 0.2)
    cursor = _pull(source, cursor, seen)
    assert _pull(source, cursor, {}) is not None and _pull(source, cursor, {}) == cursor  # nothing left to read

    assert set(seen) == faults.job_ids, "every job written to a fault file is delivered"
    cut = sorted(faults.job_ids)[2]  # the last job of truncated.csv
    for job_id, payloads in seen.items():
        last = payloads[-1]["rows"]
        assert len(last) == 2, (job_id, last)  # labour and part: no job ends up with a half-written row missing
        if job_id != cut:
            assert all(row["values"]["unit_cost"] for row in last), (job_id, last)  # no row was delivered before it was whole
    assert faults.injected["csv_row_left_unfinished_while_read"] >= 1
    assert faults.injected["csv_file_renamed_mid_read"] >= 2 and faults.injected["csv_last_row_truncated"] == 1
