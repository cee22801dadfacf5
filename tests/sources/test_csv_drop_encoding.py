"""Rows are decoded one by one: UTF-8 first, the configured fallback only when it is one, never silently."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from closeout.wiring import build_csv
from connectors.csv_drop import CsvDropSource
from csv_drop_files import fetch
from mappings.csv_drop import map_csv_job
from services.config import CsvSourceConfig
from workorders.anomalies import Anomaly

SHORT = "job_id,customer_name,line_kind,quantity,unit_price\n"
UTF8_ROW = "A,Café – Bar,,,\n".encode("utf-8")
CP1252_ROW = "B,Crème – Brûlée,,,\n".encode("cp1252")


def mapped(job):
    return map_csv_job(job.payload, company="acme", default_timezone="UTC")


def test_a_cp1252_row_in_a_utf8_file_is_read_with_the_fallback_and_a_logged_decision_names_the_row(tmp_path, caplog):
    (tmp_path / "jobs.csv").write_bytes(SHORT.encode() + UTF8_ROW + CP1252_ROW + b"C,plain,,,\n")
    caplog.set_level(logging.INFO, logger="closeout.csv_drop")
    first, second, third = fetch(CsvDropSource(tmp_path))[0]
    assert second.payload["rows"][0]["values"]["customer_name"] == "Crème – Brûlée"
    assert second.payload["rows"][0]["encoding"] == "cp1252" and "encoding" not in first.payload["rows"][0]
    (decision,) = [r.getMessage() for r in caplog.records if "fallback_encoding" in r.getMessage()]
    assert decision.startswith("jobs.csv: row 3 is not UTF-8, read as cp1252")


def test_without_a_fallback_a_row_that_is_not_utf8_makes_its_job_a_case_naming_the_row(tmp_path):
    (tmp_path / "jobs.csv").write_bytes(SHORT.encode() + UTF8_ROW + CP1252_ROW)
    first, second = fetch(CsvDropSource(tmp_path, fallback_encoding=None))[0]
    case = mapped(second)
    assert isinstance(case, Anomaly)
    assert case.summary.startswith("jobs.csv row 3: the row is neither UTF-8 (and no fallback_encoding is set)")
    assert "problems" not in first.payload


def test_a_file_starting_with_a_utf8_byte_order_mark_declares_utf8_so_its_cp1252_row_is_a_case_not_a_guess(tmp_path):
    (tmp_path / "jobs.csv").write_bytes(b"\xef\xbb\xbf" + SHORT.encode() + UTF8_ROW + CP1252_ROW)
    first, second = fetch(CsvDropSource(tmp_path))[0]
    assert first.payload["rows"][0]["values"]["job_id"] == "A"
    assert second.payload["problems"][0]["row"] == 3
    assert "neither UTF-8 nor cp1252" in mapped(second).summary


def test_a_row_in_neither_utf8_nor_the_fallback_is_kept_byte_for_byte_and_its_job_is_a_case(tmp_path):
    (tmp_path / "jobs.csv").write_bytes(SHORT.encode() + b"A,Bad \x81 byte,,,\n")
    (job,) = fetch(CsvDropSource(tmp_path))[0]
    assert job.payload["rows"][0]["values"]["customer_name"] == "Bad \x81 byte"
    assert mapped(job).summary.startswith("jobs.csv row 2: the row is neither UTF-8 nor cp1252")


def test_a_multi_line_cell_mixing_encodings_is_one_row_that_says_it_used_the_fallback(tmp_path):
    (tmp_path / "jobs.csv").write_bytes(SHORT.encode() + 'A,"Café\n'.encode() + "Brûlée\",,,\n".encode("cp1252"))
    (job,) = fetch(CsvDropSource(tmp_path))[0]
    assert job.payload["rows"][0]["values"]["customer_name"] == "Café\nBrûlée"
    assert job.payload["rows"][0]["encoding"] == "cp1252"


@pytest.mark.parametrize("encoding", ["utf-16", "no-such-codec"])
def test_a_fallback_that_does_not_write_ascii_as_ascii_is_refused_in_the_config(encoding):
    with pytest.raises(ValidationError, match="ASCII as ASCII"):
        CsvSourceConfig(kind="csv", path="jobs", fallback_encoding=encoding)


def test_an_empty_fallback_in_the_config_reaches_the_connector_as_utf8_only(tmp_path):
    source = build_csv(CsvSourceConfig(kind="csv", path=tmp_path, fallback_encoding="", max_rows_per_job=7), None,
                       home=tmp_path)
    assert (source.limits.fallback_encoding, source.limits.max_rows_per_job) == (None, 7)
