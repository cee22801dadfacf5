"""A coordinator decides changed-after-invoiced cases in headless Chromium, and a script through the JSON API."""

from __future__ import annotations

import httpx
import pytest

from closeout.demo.corrections_day import change_job, copy_demo_jobs, job_file
from closeout.settings import Settings
from closeout.ui import build_ui
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.users import Role
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from services.reconcile import reconcile
from services.users import add_user, create_token
from tests.served_ui import PASSWORD, serving, sign_in
from workorders.push import PushStatus


def _run(app) -> None:
    for company in app.companies():
        for source in company.sources:
            pull_source(app, company, source)
    while prepare_batch(app, run_id="corrections-ui").evaluated:
        pass
    for company in app.companies():
        while (step := push_batch(app, company)).pushed + step.rejected + step.uncertain:
            pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo invoiced, then three of northwind's invoiced jobs changed at the source, and the UI on a port."""
    settings = Settings(home=tmp_path_factory.mktemp("corrections-ui") / "workspace", database_url=None, config=None)
    home = settings.resolved_home()
    config = install_demo_config(home)
    copy_demo_jobs(home, config)
    with open_app(settings=settings, config_path=config) as app:
        _run(app)
        reconcile(app)
        with app.store.unit_of_work() as uow:
            pushed = sorted((r for r in uow.push_records.all(status=PushStatus.pushed) if r.company == "northwind"),
                            key=lambda r: r.doc_number)
        folder = home / "demo-jobs" / "jobs"
        changed = {}
        for record, change in zip(pushed, ("cancellation", "cancellation", "cancellation")):
            job_id = record.work_order_id.split(":", 1)[1]
            change_job(job_file(folder, job_id), job_id, change)
            changed[record.work_order_id] = record
        _run(app)
        with app.store.unit_of_work() as uow:
            cases = [c for c in uow.cases.list(kinds=(CaseKind.changed_after_invoiced,)) if c.work_order_id in changed]
        add_user(app.store, "dana", Role.coordinator, PASSWORD, actor="test")
        add_user(app.store, "vic", Role.viewer, PASSWORD, actor="test")
        token = create_token(app.store, "dana", label="test", actor="test")
        with serving(build_ui(app)) as url:
            yield {"url": url, "app": app, "token": token, "cases": cases, "records": changed}


def _signed_in(browser, served, username):
    return sign_in(browser, served["url"], username)


def _ledger(served, case):
    app = served["app"]
    return app.ledger_for(app.config.company(case.company))


def test_three_cancelled_jobs_each_opened_one_case_planning_a_void(served):
    assert len(served["cases"]) == 3
    assert all(case.status is CaseStatus.open for case in served["cases"])


def test_a_coordinator_applies_the_planned_void_from_the_case_page_and_the_invoice_is_voided(browser, served):
    case = served["cases"][0]
    record = served["records"][case.work_order_id]
    context, page = _signed_in(browser, served, "dana")
    page.goto(f"{served['url']}/cases/{case.id}")
    assert f"void invoice {record.doc_number}" in page.inner_text("ol.plan")

    page.click("form.correct button[value=apply_correction]")

    page.wait_for_selector(".flash.ok")
    assert "applied" in page.inner_text(".flash.ok") and f"invoice {record.doc_number} voided" in page.inner_text(".flash.ok")
    assert page.inner_text("#case-status") == "resolved"
    assert "correction applied" in page.inner_text("#history")
    assert page.locator("form.correct").count() == 0  # a decided case offers the decision no more
    assert _ledger(served, case).read_invoice(record.ledger_id).status == "VOIDED"
    context.close()


def test_keeping_the_invoice_needs_a_reason_and_a_viewer_is_offered_no_correction(browser, served):
    case = served["cases"][1]
    record = served["records"][case.work_order_id]
    viewer, page = _signed_in(browser, served, "vic")
    page.goto(f"{served['url']}/cases/{case.id}")
    assert page.locator("form.correct").count() == 0 and page.locator("form.keep-invoice").count() == 0
    viewer.close()

    context, page = _signed_in(browser, served, "dana")
    page.goto(f"{served['url']}/cases/{case.id}")
    page.click("form.keep-invoice button[type=submit]")  # no reason: the browser keeps the form
    assert page.url.endswith(f"/cases/{case.id}") and page.inner_text("#case-status") == "open"
    page.fill("form.keep-invoice input[name=reason]", "the customer agreed to pay for the cancelled visit")
    page.click("form.keep-invoice button[type=submit]")

    page.wait_for_selector(".flash.ok")
    assert page.inner_text("#case-status") == "resolved"
    assert "the customer agreed to pay for the cancelled visit" in page.inner_text("#history")
    assert _ledger(served, case).read_invoice(record.ledger_id).status != "VOIDED"
    context.close()


def test_a_script_applies_a_correction_as_a_credit_through_the_json_api_once(served):
    case = served["cases"][2]
    record = served["records"][case.work_order_id]
    headers = {"Authorization": f"Bearer {served['token']}"}

    answer = httpx.post(f"{served['url']}/api/cases/{case.id}/decisions", headers=headers,
                        json={"decision": "apply_as_credit"})
    again = httpx.post(f"{served['url']}/api/cases/{case.id}/decisions", headers=headers,
                       json={"decision": "apply_as_credit"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["outcome"] == "applied" and body["case"]["status"] == "resolved"
    assert [(s["kind"], s["doc_number"], s["status"]) for s in body["steps"]] == [
        ("credit_note", f"{record.doc_number}-CR", "done")]
    assert again.status_code == 422 and "resolved" in again.json()["error"]
    assert len(_ledger(served, case).find_credit_notes([f"{record.doc_number}-CR"])) == 1
