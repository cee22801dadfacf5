"""A big CSV file is read as a stream: pages of bounded size, the cursor moving per page, a kill resumed mid-file."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from connectors.csv_drop import CsvDropSource
from csv_drop_files import HEADER, csv_app, csv_company, csv_text, fetch, ids, job_values, versions_and_payloads
from mappings.csv_drop import map_csv_job
from services.intake import pull_source
from workorders.anomalies import Anomaly

SHORT = "job_id,customer_name,line_kind,quantity,unit_price\n"


def test_the_first_page_of_a_200_000_row_file_comes_with_the_memory_of_a_page_not_of_the_file(tmp_path):
    body = "".join(f"J{n // 2},Customer {n // 2} of a long enough name,part,1,{n % 90}.50\n" for n in range(200_000))
    (tmp_path / "big.csv").write_text(SHORT + body, encoding="utf-8")
    size = (tmp_path / "big.csv").stat().st_size
    pages = CsvDropSource(tmp_path, page_size=100).fetch_pages(cursor=None)
    tracemalloc.start()
    try:
        first = next(pages)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        pages.close()
    assert size > 10_000_000 and peak < size / 20, f"peak {peak:,} bytes for a {size:,}-byte file"
    assert ids(first.jobs) == [f"J{n}" for n in range(100)]
    offset = json.loads(first.next_cursor)["partial"]["big.csv"]["offset"]
    assert offset == len(SHORT) + len(body.split("J100,")[0].encode()), "the cursor points at the next job's first row"


def test_each_page_of_a_file_moves_the_cursor_so_the_next_run_starts_after_the_last_page_taken(tmp_path):
    (tmp_path / "jobs.csv").write_text(SHORT + "".join(f"J{n},c,part,1,1\n" for n in range(7)), encoding="utf-8")
    source = CsvDropSource(tmp_path, page_size=3)
    pages = source.fetch_pages(cursor=None)
    first = next(pages)
    pages.close()  # the process dies after the first page was committed
    rest, cursor = fetch(source, first.next_cursor)
    assert ids(first.jobs) == ["J0", "J1", "J2"] and ids(rest) == ["J3", "J4", "J5", "J6"]
    assert set(json.loads(cursor)["files"]) == {"jobs.csv"} and "partial" not in json.loads(cursor)
    assert fetch(source, cursor) == ([], cursor)


def test_a_pull_killed_after_a_committed_page_resumes_mid_file_and_lands_every_job_once(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "jobs.csv").write_text(csv_text([job_values(f"J{n}") for n in range(1, 251)]), encoding="utf-8")
    company = csv_company(drop)  # the default page: 100 jobs
    app = csv_app(tmp_path, company)
    real_map, calls = app.map_payload, {"n": 0}

    def killed_on_the_150th_job(kind, payload, company_):
        calls["n"] += 1
        if calls["n"] == 150:  # page 2, before it commits: page 1 (J1-J100) and its cursor are in the store
            raise KeyboardInterrupt("killed")
        return real_map(kind, payload, company_)

    app.map_payload = killed_on_the_150th_job
    with pytest.raises(KeyboardInterrupt):
        pull_source(app, company, company.sources[0])
    orders, raw, _ = versions_and_payloads(app, company)
    assert len(orders) == 100 and raw == 100

    app.map_payload = real_map
    counts = pull_source(app, company, company.sources[0])
    orders, raw, cursor = versions_and_payloads(app, company)
    assert counts.pulled == 150, "the second run starts after the committed page, not at the top of the file"
    assert len(orders) == 250 and set(orders.values()) == {1} and raw == 250
    assert set(json.loads(cursor)["files"]) == {"jobs.csv"}
    app.store.close()


def test_a_page_ends_between_jobs_once_it_holds_max_rows_per_job_rows_never_inside_a_job(tmp_path):
    rows = "".join(f"A,c,part,1,{n}\n" for n in range(3)) + "".join(f"B,c,part,1,{n}\n" for n in range(3))
    (tmp_path / "jobs.csv").write_text(SHORT + rows + "C,c,part,1,1\n", encoding="utf-8")
    pages = list(CsvDropSource(tmp_path, max_rows_per_job=4).fetch_pages(cursor=None))
    assert [[(job.external_id, len(job.payload["rows"])) for job in page.jobs] for page in pages] == [
        [("A", 3), ("B", 3)], [("C", 1)]]


def test_a_page_ends_between_jobs_once_it_holds_page_bytes_of_rows(tmp_path):
    (tmp_path / "jobs.csv").write_text(SHORT + "".join(f"J{n},{'x' * 500},part,1,1\n" for n in range(6)),
                                       encoding="utf-8")
    pages = list(CsvDropSource(tmp_path, page_bytes=1200, max_row_bytes=1024).fetch_pages(cursor=None))
    assert [ids(page.jobs) for page in pages] == [["J0", "J1", "J2"], ["J3", "J4", "J5"]]


def test_a_job_with_more_rows_than_max_rows_per_job_keeps_its_first_rows_and_is_a_case_naming_the_first_left_out(
        tmp_path):
    (tmp_path / "jobs.csv").write_text(
        csv_text([job_values("J1") for _ in range(6)] + [job_values("J2")]), encoding="utf-8")
    jobs, _ = fetch(CsvDropSource(tmp_path, max_rows_per_job=4))
    assert ids(jobs) == ["J1", "J2"] and len(jobs[0].payload["rows"]) == 4
    case = map_csv_job(jobs[0].payload, company="acme", default_timezone="America/Chicago")
    assert isinstance(case, Anomaly) and case.summary.startswith("jobs.csv row 6: the job has 2 rows more")
    assert "max_rows_per_job" in case.summary
    assert not isinstance(map_csv_job(jobs[1].payload, company="acme", default_timezone="America/Chicago"), Anomaly)


def test_a_row_longer_than_max_row_bytes_is_a_case_of_its_own_and_the_next_line_is_read(tmp_path):
    unclosed = 'J2,"an unclosed quote' + "x" * 3000 + ",part,1,1\n"
    (tmp_path / "jobs.csv").write_text(SHORT + "J1,c,part,1,1\n" + unclosed + "J3,c,part,1,1\n", encoding="utf-8")
    jobs, _ = fetch(CsvDropSource(tmp_path, max_row_bytes=2048))
    assert ids(jobs) == ["J1", "jobs.csv#row3", "J3"]
    case = map_csv_job(jobs[1].payload, company="acme", default_timezone="UTC")
    assert isinstance(case, Anomaly) and case.summary.startswith("jobs.csv row 3: the row is longer than 2,048 bytes")
    assert case.evidence["rows"][0]["preview"].startswith('J2,"an unclosed quote')


def test_a_job_whose_rows_come_back_on_a_later_page_is_delivered_again_with_all_its_rows_in_file_order(tmp_path):
    others = "".join(f"B{n},c,part,1,1\n" for n in range(4))
    (tmp_path / "jobs.csv").write_text(SHORT + "A,c,part,1,1\n" + others + "A,,fee,1,2\n", encoding="utf-8")
    pages = list(CsvDropSource(tmp_path, page_size=2).fetch_pages(cursor=None))
    last = pages[-1].jobs[-1]
    assert (last.external_id, [row["row"] for row in last.payload["rows"]]) == ("A", [2, 7])
    assert last.locator == "jobs.csv:rows 2, 7"
    assert [job.external_id for page in pages for job in page.jobs].count("A") == 2


def test_a_job_coming_back_after_a_restart_is_still_delivered_whole(tmp_path):
    (tmp_path / "jobs.csv").write_text(SHORT + "A,c,part,1,1\nB,c,part,1,1\nC,c,part,1,1\nA,,fee,1,2\n",
                                       encoding="utf-8")
    source = CsvDropSource(tmp_path, page_size=1)
    pages = source.fetch_pages(cursor=None)
    next(pages)
    cursor = next(pages).next_cursor  # A and B committed, then the process dies
    pages.close()
    rest, _ = fetch(source, cursor)
    assert [(job.external_id, [row["row"] for row in job.payload["rows"]]) for job in rest] == [("C", [4]),
                                                                                              ("A", [2, 5])]


def test_through_intake_the_job_whose_rows_come_back_ends_with_every_line_once(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    first, later = job_values("J1"), job_values("J1", line_kind="part", item_code="", description="Filter",
                                              unit_price="12.00", taxable="no")
    others = [job_values(f"J{n}") for n in range(2, 6)]
    (drop / "jobs.csv").write_text(csv_text([first, *others, later]), encoding="utf-8")
    company = csv_company(drop, page_size=2)
    app = csv_app(tmp_path, company)
    pull_source(app, company, company.sources[0])
    with app.store.unit_of_work() as uow:
        order = uow.work_orders.get("csv:J1")
    assert [line.description for line in order.line_items] == ["Trip charge", "Filter"]
    app.store.close()


def test_the_header_of_the_streamed_file_still_names_every_column(tmp_path):
    (tmp_path / "jobs.csv").write_text(HEADER + "\n" + csv_text([job_values("J1")], header=False), encoding="utf-8")
    (job,) = fetch(CsvDropSource(tmp_path))[0]
    assert not isinstance(map_csv_job(job.payload, company="acme", default_timezone="UTC"), Anomaly)
