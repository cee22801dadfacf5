"""CSV faults: files growing while read, last rows cut short, files renamed mid-read; no crash, no row lost or doubled."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.csv_drop import CsvDropSource
from csv_drop_files import csv_app, csv_company, csv_text, fetch, ids, job_values, settle, versions_and_payloads
from mappings.csv_drop import map_csv_job
from services.intake import pull_source
from workorders.anomalies import Anomaly

SHORT = "job_id,customer_name,line_kind,quantity,unit_price\n"


def rows_of(jobs) -> list[tuple[str, list[int]]]:
    return [(job.external_id, [row["row"] for row in job.payload["rows"]]) for job in jobs]


def test_a_last_row_without_a_line_end_waits_while_the_file_is_fresh_and_is_read_once_it_has_settled(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(SHORT + "J1,c,part,1,1\nJ2,c,part,1,8", encoding="utf-8")  # "8" may be "89.00" half written
    source = CsvDropSource(tmp_path)
    first, cursor = fetch(source)
    assert ids(first) == ["J1"] and "jobs.csv" in json.loads(cursor)["partial"]
    assert fetch(source, cursor) == ([], cursor), "still fresh: nothing new, and the cursor stays"
    settle(path)
    later, cursor = fetch(source, cursor)
    assert rows_of(later) == [("J2", [3])] and set(json.loads(cursor)["files"]) == {"jobs.csv"}


def test_a_row_cut_short_by_a_writer_that_stopped_becomes_a_case_naming_the_row_once_the_file_settles(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(csv_text([job_values("J1")]) + csv_text([job_values("J2")], header=False)[:60], encoding="utf-8")
    settle(path)
    jobs, _ = fetch(CsvDropSource(tmp_path))
    assert ids(jobs) == ["J1", "J2"]
    case = map_csv_job(jobs[1].payload, company="acme", default_timezone="UTC")
    assert isinstance(case, Anomaly) and case.summary.startswith("jobs.csv row 3, column")
    assert "the row ends before this column" in case.summary


def test_a_last_row_ending_inside_a_quote_waits_as_a_row_still_being_written(tmp_path):
    (tmp_path / "jobs.csv").write_text(SHORT + 'J1,c,part,1,1\nJ2,"a note\nstill being typed\n', encoding="utf-8")
    jobs, cursor = fetch(CsvDropSource(tmp_path))
    assert ids(jobs) == ["J1"] and "jobs.csv" in json.loads(cursor)["partial"]


def test_rows_appended_while_the_file_is_read_are_delivered_in_the_same_run_and_never_again(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(SHORT + "".join(f"J{n},c,part,1,1\n" for n in range(4)), encoding="utf-8")
    source = CsvDropSource(tmp_path, page_size=2)
    delivered, cursor = [], None
    for index, page in enumerate(source.fetch_pages(cursor=None)):
        delivered += ids(page.jobs)
        cursor = page.next_cursor
        if index == 0:
            with path.open("a", encoding="utf-8") as handle:  # the exporter is still writing
                handle.write("J4,c,part,1,1\nJ5,c,part,1,1\n")
    assert delivered == [f"J{n}" for n in range(6)]
    assert fetch(source, cursor) == ([], cursor)


def test_a_file_that_grew_since_it_was_read_is_read_on_from_where_it_ended(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(SHORT + "J1,c,part,1,1\nJ2,c,part,1,1\n", encoding="utf-8")
    source = CsvDropSource(tmp_path)
    _, cursor = fetch(source)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("J3,c,part,1,1\n")
    jobs, _ = fetch(source, cursor)
    assert rows_of(jobs) == [("J3", [4])]


def test_rows_appended_to_the_last_job_deliver_that_job_again_whole_and_nothing_else(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(SHORT + "A,c,part,1,1\nB,c,part,1,1\n", encoding="utf-8")
    source = CsvDropSource(tmp_path)
    _, cursor = fetch(source)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("B,,fee,1,2\n")
    jobs, _ = fetch(source, cursor)
    assert rows_of(jobs) == [("B", [3, 4])]


def test_a_file_rewritten_under_its_cursor_is_read_again_from_its_start(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(SHORT + "".join(f"J{n},c,part,1,1\n" for n in range(4)), encoding="utf-8")
    source = CsvDropSource(tmp_path, page_size=2)
    cursor = next(source.fetch_pages(cursor=None)).next_cursor
    path.write_text(SHORT + "J0,changed,part,1,1\nJ1,c,part,1,1\nJ2,c,part,1,1\n", encoding="utf-8")
    jobs, cursor = fetch(source, cursor)
    assert ids(jobs) == ["J0", "J1", "J2"] and "partial" not in json.loads(cursor)
    path.write_text(SHORT + "J0,c,part,1,1\n", encoding="utf-8")  # shorter than where the cursor was
    assert ids(fetch(source, cursor)[0]) == ["J0"]


def test_a_file_renamed_after_it_was_read_is_recognised_by_its_content_and_not_delivered_again(tmp_path):
    (tmp_path / "jobs.csv").write_text(SHORT + "J1,c,part,1,1\n", encoding="utf-8")
    source = CsvDropSource(tmp_path)
    _, cursor = fetch(source)
    (tmp_path / "jobs.csv").rename(tmp_path / "jobs-2026-11.csv")
    jobs, cursor = fetch(source, cursor)
    assert jobs == [] and set(json.loads(cursor)["files"]) == {"jobs-2026-11.csv"}


def test_a_file_renamed_while_it_is_read_is_read_once_all_jobs_under_the_name_it_was_opened_with(tmp_path):
    (tmp_path / "jobs.csv").write_text(SHORT + "".join(f"J{n},c,part,1,1\n" for n in range(4)), encoding="utf-8")
    source = CsvDropSource(tmp_path, page_size=2)
    delivered, cursor = [], None
    for index, page in enumerate(source.fetch_pages(cursor=None)):
        delivered += [(job.stream, job.external_id) for job in page.jobs]
        cursor = page.next_cursor
        if index == 0:
            (tmp_path / "jobs.csv").rename(tmp_path / "renamed.csv")
    assert delivered == [("jobs.csv", f"J{n}") for n in range(4)]
    jobs, cursor = fetch(source, cursor)
    assert jobs == [] and set(json.loads(cursor)["files"]) == {"renamed.csv"}, "the next run knows it by content"


def test_a_file_renamed_between_two_pages_of_a_killed_run_is_read_on_under_its_new_name(tmp_path):
    (tmp_path / "jobs.csv").write_text(SHORT + "".join(f"J{n},c,part,1,1\n" for n in range(4)), encoding="utf-8")
    source = CsvDropSource(tmp_path, page_size=2)
    pages = source.fetch_pages(cursor=None)
    first = next(pages)
    pages.close()  # killed after the first page
    (tmp_path / "jobs.csv").rename(tmp_path / "renamed.csv")
    rest, cursor = fetch(source, first.next_cursor)
    assert [(job.stream, job.external_id) for job in rest] == [("renamed.csv", "J2"), ("renamed.csv", "J3")]
    assert set(json.loads(cursor)["files"]) == {"renamed.csv"} and "partial" not in json.loads(cursor)


def test_through_intake_a_file_renamed_and_appended_lands_no_job_twice_landing_is_idempotent_by_content(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "jobs.csv").write_text(csv_text([job_values(f"J{n}") for n in range(1, 4)]), encoding="utf-8")
    company = csv_company(drop)
    app = csv_app(tmp_path, company)
    pull_source(app, company, company.sources[0])
    text = (drop / "jobs.csv").read_text(encoding="utf-8") + csv_text([job_values("J4")], header=False)
    (drop / "jobs.csv").unlink()
    (drop / "jobs-renamed.csv").write_text(text, encoding="utf-8")  # a new name and new content: read whole
    counts = pull_source(app, company, company.sources[0])
    orders, _, _ = versions_and_payloads(app, company)
    assert counts.pulled == 4 and counts.changed == 1, "the three known jobs are the same work orders as before"
    assert orders == {f"csv:J{n}": 1 for n in range(1, 5)}
    app.store.close()


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=25), page_size=st.integers(1, 4),
       killed_after=st.integers(0, 8))
def test_in_any_row_order_and_after_a_kill_at_any_page_each_job_ends_delivered_with_exactly_its_rows(
        tmp_path_factory, order, page_size, killed_after):
    folder = tmp_path_factory.mktemp("drop")
    (folder / "jobs.csv").write_text(SHORT + "".join(f"{job},c,part,1,{n}\n" for n, job in enumerate(order)),
                                     encoding="utf-8")
    source = CsvDropSource(folder, page_size=page_size)
    last: dict[str, list[int]] = {}
    pages, cursor = source.fetch_pages(cursor=None), None
    for index, page in enumerate(pages):
        last.update(rows_of(page.jobs))
        cursor = page.next_cursor
        if index + 1 == killed_after:
            pages.close()
            break
    rest, cursor = fetch(source, cursor)
    last.update(rows_of(rest))
    expected: dict[str, list[int]] = {}
    for n, job in enumerate(order):
        expected.setdefault(job, []).append(n + 2)
    assert last == expected
    assert fetch(source, cursor) == ([], cursor)
