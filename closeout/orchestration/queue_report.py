"""The queue as Prefect sees it: a table artifact of open cases per run, and an event per case opened or resolved."""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime

from prefect.artifacts import create_table_artifact
from prefect.events import emit_event

from closeout.wiring import App
from exceptions_queue.cases import Case, CaseStatus

UI_URL_VARIABLE = "CLOSEOUT_UI_URL"
DEFAULT_UI_URL = "http://127.0.0.1:8700"
OPENED, RESOLVED = "closeout.case.opened", "closeout.case.resolved"
_RESOLVING = {"resolved": RESOLVED, "auto_resolved": RESOLVED, "ignored": RESOLVED, "opened": OPENED,
              "reopened": OPENED, "unignored": OPENED}


def ui_url() -> str:
    return os.environ.get(UI_URL_VARIABLE, DEFAULT_UI_URL).rstrip("/")


def open_case_rows(cases: list[Case], *, base_url: str) -> list[dict[str, str]]:
    """One row per (kind, company) with its count and a link to the filtered list in the UI."""
    counts = Counter((case.kind.value, case.company) for case in cases)
    return [{"kind": kind, "company": company, "open": str(count),
             "queue": f"{base_url}/?kind={kind}&company={company}"}
            for (kind, company), count in sorted(counts.items())]


def publish_queue_report(app: App, *, since: datetime) -> dict[str, int]:
    """Publish the open-case table and emit one event per case that opened or resolved at or after ``since``.

    Events carry the kind, severity and company as resource labels so an automation can match on them
    (see ``closeout/automations/notify-high-severity.yaml``). Returns how many of each event went out.
    """
    base = ui_url()
    with app.store.unit_of_work() as uow:
        open_cases = uow.cases.list(statuses=(CaseStatus.open, CaseStatus.in_progress), limit=100_000)
        touched = [uow.cases.get(case.id) for case in uow.cases.list(statuses=tuple(CaseStatus), limit=100_000)
                   if case.updated_at >= since]
    create_table_artifact(key="closeout-open-cases", table=open_case_rows(open_cases, base_url=base) or
                          [{"kind": "-", "company": "-", "open": "0", "queue": base}],
                          description=f"Open cases by kind and company. Work them at {base}/")
    sent = Counter()
    for case in touched:
        for entry in case.history:
            event = _RESOLVING.get(entry.action)
            if event is None or entry.at < since:
                continue
            emit_event(event=event, resource=_resource(case, base), payload={
                "summary": case.summary, "action": entry.action, "actor": entry.actor, "note": entry.note})
            sent[event] += 1
    return dict(sent)


def _resource(case: Case, base: str) -> dict[str, str]:
    return {"prefect.resource.id": f"closeout.case.{case.id}", "prefect.resource.name": f"case #{case.id}",
            "closeout.case.kind": case.kind.value, "closeout.case.severity": case.severity.value,
            "closeout.case.company": case.company, "closeout.case.url": f"{base}/cases/{case.id}"}
