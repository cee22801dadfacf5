"""Dashboard tasks shared by the flows: the markdown report per company and day."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from closeout.queue_report import ui_url
from closeout.run_report import company_day, day_report, day_report_markdown, report_key
from closeout.steps.counts import StepCounts
from closeout.wiring import App


@task(name="publish-day-reports", task_run_name="daily reports", cache_policy=NO_CACHE)
def publish_day_reports_task(app: App, counts: StepCounts | None = None) -> list[str]:
    """One markdown artifact per company for its current day (``closeout-report-<company>-<yyyy-mm-dd>``);
    each run adds a new version holding the whole day so far."""
    keys = []
    now = datetime.now(UTC)
    for company in app.companies():
        day = company_day(company, now)
        report = day_report(app, company, day)
        key = report_key(company.id, day)
        create_markdown_artifact(key=key, markdown=day_report_markdown(company, day, report, run=counts,
                                                                       queue_url=ui_url()),
                                 description=f"{company.name}, {day:%Y-%m-%d}: {len(report['invoices'])} invoices, "
                                             f"{report['amount']:.2f} {company.currency}")
        keys.append(key)
    return keys
