"""The shell's Prefect-facing adapters: pacing on global concurrency limits, run and queue artifacts, ``closeout setup``, the local server and the deployments.

Modules: ``prefect_api`` (is an API configured?), ``pacing`` (CompanyPacer), ``run_report`` and ``queue_report``
(artifacts), ``prefect_setup`` (blocks, limits, automations), ``prefect_server`` (the local server), ``deployments``.
They are imported by module, so the CLI starts without loading Prefect.
"""
