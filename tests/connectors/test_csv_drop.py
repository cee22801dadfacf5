import hashlib
import json
from pathlib import Path

import pytest

from connectors.csv_drop import CsvDropSource
from connectors.errors import FatalError

HEADER = "job_id,customer_name,line_kind,quantity,unit_price\n"


def write(folder: Path, name: str, body: str, *, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def all_jobs(source: CsvDropSource, cursor: str | None = None) -> list:
    return [job for page in source.fetch_pages(cursor=cursor) for job in page.jobs]


def last_cursor(source: CsvDropSource, cursor: str | None = None) -> str | None:
    pages = list(source.fetch_pages(cursor=cursor))
    return pages[-1].next_cursor if pages else cursor


def test_rows_are_grouped_by_job_id_in_order_of_first_appearance(tmp_path):
    write(tmp_path, "jobs.csv", "B,Beta,part,1,2\nA,Acme,labour,1,3\nB,,fee,1,4\n")
    jobs = all_jobs(CsvDropSource(tmp_path))
    assert [job.external_id for job in jobs] == ["B", "A"]
    assert [row["row"] for row in jobs[0].payload["rows"]] == [2, 4]


def test_a_job_carries_its_file_rows_and_raw_strings_uninterpreted(tmp_path):
    write(tmp_path, "jobs.csv", "A,Acme,part, two ,0012.50\n")
    (job,) = all_jobs(CsvDropSource(tmp_path))
    assert (job.source, job.stream, job.external_id, job.locator) == ("csv", "jobs.csv", "A", "jobs.csv:row 2")
    assert job.payload["file"] == "jobs.csv"
    assert job.payload["rows"][0]["values"] == {
        "job_id": "A", "customer_name": "Acme", "line_kind": "part", "quantity": " two ", "unit_price": "0012.50"
    }


def test_the_locator_names_every_row_of_the_job(tmp_path):
    write(tmp_path, "jobs.csv", "A,x,,,\nA,x,,,\nA,x,,,\nA,x,,,\nB,y,,,\nA,x,,,\n")
    jobs = {job.external_id: job for job in all_jobs(CsvDropSource(tmp_path))}
    assert jobs["A"].locator == "jobs.csv:rows 2-5, 7"
    assert jobs["B"].locator == "jobs.csv:row 6"


def test_a_row_without_a_job_id_is_delivered_as_a_job_of_its_own(tmp_path):
    write(tmp_path, "jobs.csv", "A,Acme,part,1,2\n,Orphan,part,1,2\n , Orphan too,part,1,2\n")
    jobs = all_jobs(CsvDropSource(tmp_path))
    assert [job.external_id for job in jobs] == ["A", "jobs.csv#row3", "jobs.csv#row4"]
    assert jobs[1].payload["rows"][0]["values"]["customer_name"] == "Orphan"


def test_row_numbers_are_the_ones_a_spreadsheet_shows_even_after_blank_lines(tmp_path):
    write(tmp_path, "jobs.csv", "A,Acme,part,1,2\n\n,,,,\nB,\"Multi\nline\",part,1,2\nC,Cee,part,1,2\n")
    jobs = all_jobs(CsvDropSource(tmp_path))
    assert [(job.external_id, job.payload["rows"][0]["row"]) for job in jobs] == [("A", 2), ("B", 5), ("C", 6)]
    assert jobs[1].payload["rows"][0]["values"]["customer_name"] == "Multi\nline"


def test_a_short_row_leaves_missing_columns_none_and_extra_cells_are_kept(tmp_path):
    write(tmp_path, "jobs.csv", "A,Acme\nB,Beta,part,1,2,surprise\n")
    jobs = all_jobs(CsvDropSource(tmp_path))
    assert jobs[0].payload["rows"][0]["values"]["quantity"] is None
    assert jobs[1].payload["rows"][0]["values"]["__extra__"] == ["surprise"]


def test_only_csv_files_are_read_in_name_order_and_hidden_uploads_wait(tmp_path):
    write(tmp_path, "b.csv", "B,Beta,,,\n")
    write(tmp_path, "a.CSV", "A,Acme,,,\n")
    write(tmp_path, ".c.csv", "C,Cee,,,\n")
    (tmp_path / "notes.txt").write_text("not a csv")
    (tmp_path / "sub.csv").mkdir()
    jobs = all_jobs(CsvDropSource(tmp_path))
    assert [(job.stream, job.external_id) for job in jobs] == [("a.CSV", "A"), ("b.csv", "B")]


def test_a_utf8_byte_order_mark_does_not_end_up_in_the_first_column_name(tmp_path):
    write(tmp_path, "jobs.csv", "A,Café Olé,,,\n", encoding="utf-8-sig")
    (job,) = all_jobs(CsvDropSource(tmp_path))
    assert job.payload["rows"][0]["values"]["job_id"] == "A"
    assert job.payload["rows"][0]["values"]["customer_name"] == "Café Olé"
    assert job.payload["encoding"] == "utf-8"


def test_a_windows_1252_file_is_read_as_cp1252_and_says_so(tmp_path):
    write(tmp_path, "jobs.csv", "A,Café – Bar,,,\n", encoding="cp1252")
    (job,) = all_jobs(CsvDropSource(tmp_path))
    assert job.payload["rows"][0]["values"]["customer_name"] == "Café – Bar"
    assert job.payload["encoding"] == "cp1252"


def test_bytes_undefined_in_cp1252_are_kept_byte_for_byte_and_the_job_names_the_row(tmp_path):
    (tmp_path / "jobs.csv").write_bytes(HEADER.encode() + b"A,Bad \x81 byte,,,\n")
    (job,) = all_jobs(CsvDropSource(tmp_path))
    assert job.payload["encoding"] == "undecodable"
    assert job.payload["rows"][0]["values"]["customer_name"] == "Bad \x81 byte"
    assert job.payload["problems"][0]["row"] == 2 and "neither UTF-8 nor cp1252" in job.payload["problems"][0]["message"]


def test_a_missing_folder_is_a_fatal_error_that_names_it(tmp_path):
    with pytest.raises(FatalError, match="nowhere.*does not exist"):
        all_jobs(CsvDropSource(tmp_path / "nowhere"))


def test_the_cursor_records_each_delivered_file_by_name_and_content_hash(tmp_path):
    path = write(tmp_path, "jobs.csv", "A,Acme,,,\n")
    cursor = last_cursor(CsvDropSource(tmp_path))
    content = path.read_bytes()
    assert json.loads(cursor) == {"files": {"jobs.csv": {"sha256": hashlib.sha256(content).hexdigest(),
                                                         "size": len(content)}}}


def test_an_unchanged_file_already_delivered_is_skipped_on_the_next_run(tmp_path):
    write(tmp_path, "jobs.csv", "A,Acme,,,\n")
    source = CsvDropSource(tmp_path)
    cursor = last_cursor(source)
    assert list(source.fetch_pages(cursor=cursor)) == []


def test_a_changed_file_and_a_new_file_are_delivered_and_the_rest_skipped(tmp_path):
    write(tmp_path, "a.csv", "A,Acme,,,\n")
    write(tmp_path, "b.csv", "B,Beta,,,\n")
    source = CsvDropSource(tmp_path)
    cursor = last_cursor(source)
    write(tmp_path, "b.csv", "B,Beta Corrected,,,\n")
    write(tmp_path, "c.csv", "C,Cee,,,\n")
    jobs = all_jobs(source, cursor)
    assert [job.external_id for job in jobs] == ["B", "C"]
    assert set(json.loads(last_cursor(source, cursor))["files"]) == {"a.csv", "b.csv", "c.csv"}


def test_a_file_spanning_pages_is_done_on_its_last_page_and_each_page_before_records_how_far_it_got(tmp_path):
    write(tmp_path, "a.csv", "".join(f"A{i},x,,,\n" for i in range(5)))
    write(tmp_path, "b.csv", "B,y,,,\n")
    pages = list(CsvDropSource(tmp_path, page_size=2).fetch_pages(cursor=None))
    assert [len(page.jobs) for page in pages] == [2, 2, 1, 1]
    assert [sorted(json.loads(page.next_cursor)["files"]) for page in pages] == [[], [], ["a.csv"], ["a.csv", "b.csv"]]
    row_length = len("A0,x,,,\n")
    assert [json.loads(page.next_cursor).get("partial", {}).get("a.csv", {}).get("offset") for page in pages] == [
        len(HEADER) + 2 * row_length, len(HEADER) + 4 * row_length, None, None]


def test_an_empty_file_yields_an_empty_page_that_moves_the_cursor(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (page,) = CsvDropSource(tmp_path).fetch_pages(cursor=None)
    assert page.jobs == ()
    assert "empty.csv" in json.loads(page.next_cursor)["files"]


def test_a_cursor_that_is_not_ours_is_a_fatal_error_saying_how_to_recover(tmp_path):
    write(tmp_path, "a.csv", "A,Acme,,,\n")
    with pytest.raises(FatalError, match="clear it"):
        all_jobs(CsvDropSource(tmp_path), cursor="2026-11-01T00:00:00Z")


def test_reading_leaves_the_folder_exactly_as_it_was(tmp_path):
    write(tmp_path, "a.csv", "A,Acme,,,\n,orphan,,,\n")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    all_jobs(CsvDropSource(tmp_path))
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before


def test_payloads_survive_a_json_round_trip_unchanged(tmp_path):
    write(tmp_path, "a.csv", "A,\"Comma, Inc.\",part,1,2,extra\nB,short\n")
    for job in all_jobs(CsvDropSource(tmp_path)):
        assert json.loads(json.dumps(job.payload)) == job.payload


def test_a_file_mixing_utf8_and_cp1252_rows_reads_each_row_as_it_was_written_and_says_so(tmp_path):
    (tmp_path / "jobs.csv").write_bytes(HEADER.encode() + "A,Café – Bar,,,\n".encode("utf-8")
                                        + "B,Crème – Brûlée,,,\n".encode("cp1252"))
    first, second = all_jobs(CsvDropSource(tmp_path))
    assert first.payload["rows"][0]["values"]["customer_name"] == "Café – Bar"
    assert second.payload["rows"][0]["values"]["customer_name"] == "Crème – Brûlée"
    assert (first.payload["encoding"], second.payload["encoding"]) == ("utf-8", "cp1252")
    assert "encoding" not in first.payload["rows"][0] and second.payload["rows"][0]["encoding"] == "cp1252"
