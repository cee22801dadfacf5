"""The closeout-pipeline flow: pull every source, prepare drafts, push them, apply corrections, publish the summary."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from services.counts import StepCounts
from closeout.wiring import App
from flows._tasks import (
    correct_company,
    open_config,
    prepare_drafts_task,
    publish_day_reports_task,
    publish_queue_report_task,
    publish_summary_task,
    send_notifications_task,
    finish_run,
    pull_company,
    push_company,
    read_mailboxes,
)


def run_pipeline(app: App) -> StepCounts:
    """The recipe, usable from any flow that already holds an open app."""
    started = datetime.now(UTC)
    run_id = str(flow_run.get_id() or "local")
    counts = StepCounts()
    for company in app.companies():
        counts += pull_company(app, company)  # a company whose source is down does not stop the others
        # after the pull: mail matches those jobs
        counts += read_mailboxes(app, ((company, mailbox) for mailbox in company.mailboxes)).as_step_counts()
    batch = 0
    while (step := prepare_drafts_task(app, batch, run_id)).evaluated:
        counts += step
        batch += 1
    for company in app.companies():
        counts += push_company(app, company)  # push_backlog claims until nothing is left; one ledger down stops no other
        counts += correct_company(app, company)  # corrections after invoicing the company's policy applies, and unfinished ones
    send_notifications_task(app)  # the run's new high-severity cases, and whatever is due from before
    publish_summary_task(counts)
    publish_day_reports_task(app, counts)
    publish_queue_report_task(app, started)
    get_run_logger().info("Run summary: %s", {row["measure"]: row["value"] for row in counts.as_rows()})
    return counts


@flow(name="closeout-pipeline", log_prints=True)
def closeout_pipeline(config_path: str | None = None) -> StepCounts:
    """Pull → normalise and apply rules → push, for every company in the config; Failed, naming them, when
    some company's source or ledger could not be used (the others' work is done and counted all the same)."""
    with open_config(config_path) as app:
        return finish_run(run_pipeline(app))
