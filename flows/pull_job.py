"""The ``closeout-pull-job`` flow: pull one job a webhook named, as a Prefect run (visible, retried, logged).

The webhook receiver starts it through the deployment ``closeout-pull-job/webhooks`` (prefect.yaml) when a
Prefect API is configured (``PREFECT_API_URL``); ``closeout webhooks`` serves that deployment in the same process.
"""

from __future__ import annotations

from prefect import flow

from flows._tasks import pull_job_task


@flow(name="closeout-pull-job", flow_run_name="pull {source_name} job {job_id}")
def closeout_pull_job(company_id: str, source_name: str, job_id: str, config_path: str | None = None) -> int:
    """Land, map and store one job; the number of work orders it changed."""
    return pull_job_task(config_path, company_id, source_name, job_id)
