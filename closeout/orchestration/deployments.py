"""The deployments of prefect.yaml as RunnerDeployments, so `closeout serve` serves exactly what `prefect deploy` deploys."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from prefect.schedules import Cron, Interval, Schedule
from prefect.types.entrypoint import EntrypointType

REPO = Path(__file__).resolve().parents[2]  # closeout/orchestration/deployments.py → the checkout
PREFECT_YAML = REPO / "prefect.yaml"

# The shell runs flows by these entrypoints (load_flow), never by importing flows/.
PIPELINE_ENTRYPOINT = "flows/pipeline.py:closeout_pipeline"
# The webhook receiver starts one run of this deployment per job a webhook names (prefect.yaml, "webhooks").
PULL_JOB_DEPLOYMENT_NAME = "webhooks"
PULL_JOB_DEPLOYMENT = f"closeout-pull-job/{PULL_JOB_DEPLOYMENT_NAME}"
PULL_JOB_ENTRYPOINT = "flows/pull_job.py:closeout_pull_job"


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment of prefect.yaml: what runs, when, and how it is labelled."""

    name: str
    entrypoint: str  # flows/<file>.py:<flow function>, relative to the repo
    description: str = ""
    tags: tuple[str, ...] = ()
    schedules: tuple[dict[str, Any], ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    concurrency_limit: int | None = None
    work_pool: str | None = None

    @property
    def source_file(self) -> Path:
        return REPO / self.entrypoint.split(":", 1)[0]


def read_deployment_specs(path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    """Every deployment prefect.yaml declares, in its order."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        DeploymentSpec(
            name=entry["name"], entrypoint=entry["entrypoint"], description=entry.get("description", ""),
            tags=tuple(entry.get("tags") or ()), schedules=tuple(entry.get("schedules") or ()),
            parameters=dict(entry.get("parameters") or {}), concurrency_limit=entry.get("concurrency_limit"),
            work_pool=(entry.get("work_pool") or {}).get("name"),
        )
        for entry in document["deployments"]
    ]


def to_schedule(spec: dict[str, Any], *, interval_override: timedelta | None = None) -> Schedule:
    """A prefect.yaml schedule entry (``interval`` seconds or ``cron``) as a Prefect schedule."""
    options = {"timezone": spec.get("timezone"), "active": spec.get("active", True)}
    if "cron" in spec:
        return Cron(spec["cron"], **options)
    return Interval(interval_override or timedelta(seconds=float(spec["interval"])), **options)


def build_runner_deployments(specs: list[DeploymentSpec] | None = None, *,
                             interval_override: timedelta | None = None) -> list[Any]:
    """RunnerDeployments for ``serve()``: one per spec whose flow file exists (others are skipped).

    ``interval_override`` replaces every interval schedule's period (tests use a few seconds).
    """
    deployments = []
    for spec in specs if specs is not None else read_deployment_specs():
        if not spec.source_file.exists():
            continue
        flow = load_flow(spec.entrypoint)
        deployments.append(flow.to_deployment(
            name=spec.name, description=spec.description or None, tags=list(spec.tags),
            schedules=[to_schedule(s, interval_override=interval_override) for s in spec.schedules],
            parameters=spec.parameters or None, concurrency_limit=spec.concurrency_limit,
            entrypoint_type=EntrypointType.MODULE_PATH,  # flows.operations.push_ledger: runs from any folder
        ))
    return deployments


def load_flow(entrypoint: str) -> Any:
    """The flow object of ``flows/<file>.py:<function>``, imported as its module (``flows.<file>``)."""
    path, function = entrypoint.split(":", 1)
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), function)


def missing_flow_files(specs: list[DeploymentSpec] | None = None) -> list[str]:
    """Deployments whose flow file is not in the checkout (``closeout serve`` says so and serves the rest)."""
    return [spec.name for spec in (specs if specs is not None else read_deployment_specs())
            if not spec.source_file.exists()]
