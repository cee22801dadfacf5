"""A source's ``start``: the first pull reads from it, and ``closeout preview`` reads API sources without storing."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from closeout.settings import Settings
from services.config import CloseoutConfig
from services.intake import cursor_name, first_cursor, pull_source
from services.preview import IN_SOURCE, preview_run
from source_fakes import COMPANY, SOURCE, JobberServer, StubbedSourcesApp, jobber_node
from storage import open_store

STARTED = SOURCE.model_copy(update={"start": date(2025, 6, 7)})
ONLY_JOBBER = COMPANY.model_copy(update={"sources": (STARTED,)})


@pytest.fixture
def started_app(tmp_path, make_jobber):
    store = open_store(f"sqlite:///{tmp_path / 'closeout.db'}")
    application = StubbedSourcesApp(settings=Settings(home=tmp_path), config=CloseoutConfig(companies=(ONLY_JOBBER,)),
                                    store=store, home=tmp_path)
    application.connectors = {"jobber": make_jobber()}
    yield application
    store.close()


def _jobs_a_week_apart() -> list[dict]:
    return [jobber_node(n, f"2025-06-{9 - n:02d}T12:00:00Z") for n in range(6)]  # 9 June back to 4 June


def test_the_first_pull_of_a_started_source_reads_from_the_start_in_the_companys_timezone(started_app, jobber_router):
    server = JobberServer(_jobs_a_week_apart())
    jobber_router.post("/api/graphql").mock(side_effect=server.page)
    assert json.loads(first_cursor(ONLY_JOBBER, STARTED)) == {"watermark": "2025-06-07T06:00:00Z"}  # Edmonton midnight
    counts = pull_source(started_app, ONLY_JOBBER, STARTED)
    assert counts.pulled == 3  # 9, 8 and 7 June; the older ones are before the start
    with started_app.store.engine.connect() as connection:
        ids = {row[0] for row in connection.execute(sa.text("select distinct work_order_id from work_order_versions"))}
    assert len(ids) == 3
    cursor = json.loads(started_app.store.cursors.get(cursor_name(ONLY_JOBBER, STARTED)))
    assert cursor["watermark"] == "2025-06-09T12:00:00Z"  # later pulls go on from the cursor, not the start


def test_a_source_without_a_start_reads_its_whole_history_first():
    assert first_cursor(COMPANY, SOURCE) is None


def test_preview_reads_an_api_source_from_its_start_and_stores_nothing(started_app, jobber_router):
    server = JobberServer(_jobs_a_week_apart())
    jobber_router.post("/api/graphql").mock(side_effect=server.page)
    preview = preview_run(started_app)
    seen = {held.subject for held in preview.held if held.where == IN_SOURCE} | {
        draft.doc_number for where, draft in preview.drafts if where == IN_SOURCE}
    assert len(seen) == 3 and not preview.not_read
    with started_app.store.engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from work_order_versions")).scalar_one() == 0
        assert connection.execute(sa.text("select count(*) from raw_payloads")).scalar_one() == 0
    assert started_app.store.cursors.get(cursor_name(ONLY_JOBBER, STARTED)) is None


def test_preview_names_an_api_source_it_could_not_read_and_goes_on(started_app, jobber_router):
    jobber_router.post("/api/graphql").respond(503, text="down for maintenance")
    preview = preview_run(started_app)
    assert preview.drafts == [] and len(preview.not_read) == 1
    assert preview.not_read[0].startswith("acme/jobber/jobber: ")
