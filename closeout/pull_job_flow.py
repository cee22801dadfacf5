"""The ``closeout-pull-job`` flow: pull one job a webhook named, as a Prefect run (visible, retried, logged).

The webhook receiver starts it through the deployment ``closeout-pull-job/webhooks`` when a Prefect API is
configured (``PREFECT_API_URL``); ``closeout webhooks`` serves that deployment in the same process.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from closeout.steps.intake import pull_job
from closeout.wiring import open_app
from flows.retrying import is_retriable

DEPLOYMENT_NAME = "webhooks"
DEPLOYMENT = f"closeout-pull-job/{DEPLOYMENT_NAME}"



@task(name="pull-job", retries=3, retry_delay_seconds=[2, 10, 30], retry_condition_fn=is_retriable,
      cache_policy=NO_CACHE)
def pull_job_task(config_path: str | None, company_id: str, source_name: str, job_id: str) -> int:
    with open_app(config_path=Path(config_path) if config_path else None) as app:
        company = app.config.company(company_id)
        source = next(s for s in company.sources if s.name == source_name)
        return pull_job(app, company, source, job_id).changed


@flow(name="closeout-pull-job", flow_run_name="pull {source_name} job {job_id}")
def closeout_pull_job(company_id: str, source_name: str, job_id: str, config_path: str | None = None) -> int:
    """Land, map and store one job; the number of work orders it changed."""
    return pull_job_task(config_path, company_id, source_name, job_id)
