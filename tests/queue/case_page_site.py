"""The demo with every case kind the case page leads differently (its mail read, one invoiced job changed), served."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from closeout.demo.corrections_day import change_job, copy_demo_jobs, job_file
from closeout.settings import Settings
from closeout.ui import build_ui
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.users import Role
from services.intake import pull_source
from services.mail.ingest import ingest_mailbox
from services.prepare import prepare_batch
from services.push.batch import push_batch
from services.reconcile import reconcile
from services.users import add_user
from tests.served_ui import PASSWORD, serving
from tests.served_ui import sign_in as signed_in
from workorders.push import PushStatus
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


def run_once(app: Any) -> None:
    """Pull every source, read every mailbox, evaluate and push: the pipeline's steps without Prefect."""
    for company in app.companies():
        for source in company.sources:
            pull_source(app, company, source)
        for mailbox in company.mailboxes:
            ingest_mailbox(app, company, mailbox)
    while prepare_batch(app, run_id="case-page").evaluated:
        pass
    for company in app.companies():
        while (step := push_batch(app, company)).pushed + step.rejected + step.uncertain:
            pass


@contextmanager
def served_demo(home: Path) -> Iterator[dict[str, Any]]:
    """The demo run twice around one returned part on an invoiced job; a coordinator "dana"; the UI on a port.

    Yields ``url``, ``app`` and ``cases``: one open case id per page kind (``duplicate_job``, ``missing_mapping``,
    ``unmatched_email``, ``changed_after_invoiced``, ``line_items_priced``)."""
    settings = Settings(home=home, database_url=None, config=None)
    config = install_demo_config(settings.resolved_home())
    copy_demo_jobs(settings.resolved_home(), config)
    with open_app(settings=settings, config_path=config) as app:
        run_once(app)
        reconcile(app)
        with app.store.unit_of_work() as uow:
            invoiced = sorted((r for r in uow.push_records.all(status=PushStatus.pushed) if r.company == "northwind"),
                              key=lambda r: r.doc_number)[0]
        job_id = invoiced.work_order_id.split(":", 1)[1]
        change_job(job_file(settings.resolved_home() / "demo-jobs" / "jobs", job_id), job_id, "returned part")
        run_once(app)
        add_user(app.store, "dana", Role.coordinator, PASSWORD, actor="test")
        cases = _cases_by_page_kind(app)
        with serving(build_ui(app)) as url:
            yield {"url": url, "app": app, "cases": cases}


def sign_in(browser: Any, url: str, viewport: dict[str, int], username: str = "dana") -> tuple[Any, Any]:
    """A new browser context of this size, signed in; (context, page)."""
    return signed_in(browser, url, username, viewport=viewport)


def _cases_by_page_kind(app: Any) -> dict[str, int]:
    with app.store.unit_of_work() as uow:
        found = uow.cases.list(statuses=(CaseStatus.open,), limit=1000)
    chosen: dict[str, int] = {}
    for case in sorted(found, key=lambda c: c.id or 0):
        if case.kind is CaseKind.rule_blocked:
            key = case.evidence["decisions"][0]["rule_id"]
        elif case.kind is CaseKind.unmatched_email:
            key = "unmatched_email" if case.evidence.get("candidates") else "unmatched_email_alone"
        else:
            key = case.kind.value
        chosen.setdefault(key, case.id)
    return chosen
