"""The closeout-health flow: check every source, mailbox and ledger, open cases and emit events, publish a table."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from closeout.config import CompanyConfig
from closeout.health import HealthRow, check_company, record_problems
from closeout.wiring import App, open_app


@task(name="check-company-health", task_run_name="health {company.id}", cache_policy=NO_CACHE)
def check_company_task(app: App, company: CompanyConfig, stale_after_hours: float,
                       token_warning_days: float | None) -> list[HealthRow]:
    return check_company(app, company, stale_after=timedelta(hours=stale_after_hours),
                         token_warning=timedelta(days=token_warning_days) if token_warning_days else None)


@task(name="record-health-problems", cache_policy=NO_CACHE)
def record_problems_task(app: App, rows: list[HealthRow]) -> int:
    return record_problems(app, rows, emit=emit_event)


@task(name="publish-health", cache_policy=NO_CACHE)
def publish_health_task(rows: list[HealthRow]) -> None:
    failing = sum(not row.ok for row in rows)
    create_table_artifact(key="closeout-health", table=[row.as_row() for row in rows],
                          description=f"{len(rows)} components checked, {failing} with a problem")


@flow(name="closeout-health", log_prints=True)
def health_check(config_path: str | None = None, stale_after_hours: float = 72,
                 token_warning_days: float | None = None) -> list[HealthRow]:
    """Check every source, mailbox and ledger connection (and ledger token) of every company in the config.

    A mailbox whose newest message is older than ``stale_after_hours`` is stale; a ledger refresh token ending
    within ``token_warning_days`` (default: the ledger's ``refresh_warning_days``) opens a case.
    """
    with open_app(config_path=Path(config_path) if config_path else None) as app:
        rows: list[HealthRow] = []
        for company in app.companies():
            rows += check_company_task(app, company, stale_after_hours, token_warning_days)
        opened = record_problems_task(app, rows)
        publish_health_task(rows)
    failing = [row for row in rows if not row.ok]
    get_run_logger().info("%d components checked, %d with a problem, %d new case(s)", len(rows), len(failing), opened)
    return rows
