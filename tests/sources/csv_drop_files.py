"""Drop-folder files and a real-store app for the CSV source tests (a module, not conftest, so tests import it)."""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from closeout.settings import Settings
from closeout.wiring import App
from connectors.csv_drop import CsvDropSource
from services.config import CloseoutConfig, CompanyConfig, CsvSourceConfig
from services.intake import cursor_name
from storage import open_store
from tests.fakes import CSV_COLUMNS, company_config, csv_job

HEADER = ",".join(CSV_COLUMNS)


def job_values(job_id: str, **cells: str) -> dict[str, str]:
    """The cells of one clean, signed, finished job (``tests.fakes.csv_job``) with ``cells`` changed."""
    number = cells.pop("job_number", "".join(ch for ch in job_id if ch.isdigit()) or "1")
    return dict(csv_job(job_id, number, **cells).payload["rows"][0]["values"])


def csv_text(rows: list[dict[str, str]], *, header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def settle(path: Path, seconds: float = 3600) -> None:
    """Make the file look unchanged for ``seconds``, as a file nobody writes any more."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def fetch(source: CsvDropSource, cursor: str | None = None) -> tuple[list, str | None]:
    """Every job one run delivers, and the cursor it leaves (the one it was given when it yields no page)."""
    jobs = []
    for page in source.fetch_pages(cursor=cursor):
        jobs.extend(page.jobs)
        cursor = page.next_cursor
    return jobs, cursor


def ids(jobs: list) -> list[str]:
    return [job.external_id for job in jobs]


def csv_company(drop: Path, **limits: Any) -> CompanyConfig:
    return company_config(sources=(CsvSourceConfig(kind="csv", name="csv-drop", path=drop, **limits),))


def csv_app(tmp_path: Path, company: CompanyConfig) -> App:
    store = open_store(f"sqlite:///{tmp_path / 'closeout.db'}")
    return App(settings=Settings(home=tmp_path), config=CloseoutConfig(companies=(company,)), store=store,
               home=tmp_path)


def versions_and_payloads(app: App, company: CompanyConfig) -> tuple[dict[str, int], int, str | None]:
    """Work order versions per work order, raw payload rows, and the source's cursor."""
    with app.store.engine.connect() as connection:
        orders = connection.execute(
            sa.text("select work_order_id, count(*) from work_order_versions group by work_order_id")).all()
        raw = connection.execute(sa.text("select count(*) from raw_payloads")).scalar_one()
    return {row[0]: row[1] for row in orders}, raw, app.store.cursors.get(cursor_name(company, company.sources[0]))
