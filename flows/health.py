"""The closeout-health flow: check every source, mailbox and ledger, open cases and emit events, publish a table."""

from __future__ import annotations

from prefect import flow, get_run_logger

from services.health import HealthRow
from flows._tasks import check_company_task, open_config, publish_health_task, record_problems_task


@flow(name="closeout-health", log_prints=True)
def health_check(config_path: str | None = None, stale_after_hours: float = 72,
                 token_warning_days: float | None = None) -> list[HealthRow]:
    """Check every source, mailbox and ledger connection (and ledger token) of every company in the config.

    A mailbox whose newest message is older than ``stale_after_hours`` is stale; a ledger refresh token ending
    within ``token_warning_days`` (default: the ledger's ``refresh_warning_days``) opens a case.
    """
    with open_config(config_path) as app:
        rows: list[HealthRow] = []
        for company in app.companies():
            rows += check_company_task(app, company, stale_after_hours, token_warning_days)
        opened = record_problems_task(app, rows)
        publish_health_task(rows)
    failing = [row for row in rows if not row.ok]
    get_run_logger().info("%d components checked, %d with a problem, %d new case(s)", len(rows), len(failing), opened)
    return rows
