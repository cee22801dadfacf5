"""The queue in Prefect: the open-cases table artifact, case events, and the shipped example automation."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from closeout.orchestration.queue_report import OPENED, RESOLVED, open_case_rows, publish_queue_report
from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind
from exceptions_queue.service import CaseQueue
from workorders.anomalies import Anomaly

AUTOMATION = Path(__file__).parents[2] / "closeout" / "automations" / "notify-high-severity.yaml"


def test_the_example_automation_is_a_valid_prefect_automation_for_high_severity_openings():
    from prefect.automations import AutomationCore

    spec = yaml.safe_load(AUTOMATION.read_text())["automations"][0]
    automation = AutomationCore.model_validate(spec)
    assert automation.trigger.expect == {OPENED}
    assert automation.trigger.match.root["closeout.case.severity"] == "high"


def test_the_open_cases_table_has_a_row_per_kind_and_company_with_a_link_to_the_filtered_queue(tmp_path):
    cases = [_case(CaseKind.missing_mapping, "northwind"), _case(CaseKind.missing_mapping, "northwind"),
             _case(CaseKind.rule_blocked, "harbour")]
    rows = open_case_rows(cases, base_url="http://queue")
    assert rows == [
        {"kind": "missing_mapping", "company": "northwind", "open": "2",
         "queue": "http://queue/?kind=missing_mapping&company=northwind"},
        {"kind": "rule_blocked", "company": "harbour", "open": "1", "queue": "http://queue/?kind=rule_blocked&company=harbour"},
    ]


@pytest.fixture(scope="module")
def prefect_harness():
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_a_run_publishes_the_open_cases_artifact_and_an_event_per_case_opened_or_resolved(prefect_harness, tmp_path):
    from prefect import flow
    from prefect.client.orchestration import get_client

    settings = Settings(home=tmp_path / "workspace", database_url=None, config=None)
    config = install_demo_config(settings.resolved_home())
    since = datetime.now(UTC) - timedelta(seconds=1)
    with open_app(settings=settings, config_path=config) as app:
        with app.store.unit_of_work() as uow:
            queue = CaseQueue(uow.cases)
            high, _ = queue.open_case(Anomaly(code=CaseKind.ledger_rejected, subject="csv:J1@v1:quickbooks",
                                              company="northwind", summary="refused"))
            low, _ = queue.open_case(Anomaly(code=CaseKind.rule_blocked, subject="csv:J2@v1", company="northwind",
                                             summary="blocked"))
            queue.resolve(low.id, actor="dana", note="fixed at the source")
            uow.commit()

        @flow
        def report() -> dict[str, int]:
            return publish_queue_report(app, since=since)

        assert report() == {OPENED: 2, RESOLVED: 1}

    async def read():
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["closeout-open-cases"])))

    artifacts = asyncio.run(read())
    assert artifacts and "ledger_rejected" in str(artifacts[0].data)


def _case(kind, company):
    from exceptions_queue.cases import SEVERITY_BY_KIND, Case

    now = datetime.now(UTC)
    return Case(kind=kind, severity=SEVERITY_BY_KIND[kind], company=company, subject="s", summary="s",
                opened_at=now, updated_at=now)
