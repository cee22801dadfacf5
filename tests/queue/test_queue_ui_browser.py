"""The queue's web UI driven in headless Chromium over the demo: sign in, filter, fix a mapping, replay, refuse."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from closeout.settings import Settings
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from closeout.ui import build_ui
from services.users import add_user, create_token
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.service import CaseQueue
from exceptions_queue.users import Role
from tests.served_ui import PASSWORD, serving
from workorders.anomalies import Anomaly

SCRIPT_EMAIL = "<script>window.pwned = 1</script><b>Hi</b>, the unit at 12 Elm is fixed. <img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo run through its steps, three users, an email case with a script in it, and the UI on a port."""
    settings = Settings(home=tmp_path_factory.mktemp("ui") / "workspace", database_url=None, config=None)
    config = install_demo_config(settings.resolved_home())
    with open_app(settings=settings, config_path=config) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="ui-test").evaluated:
            pass
        for company in app.companies():
            while (step := push_batch(app, company)).pushed + step.rejected + step.uncertain:
                pass
        add_user(app.store, "ada", Role.admin, PASSWORD, actor="test")
        add_user(app.store, "dana", Role.coordinator, PASSWORD, actor="test")
        add_user(app.store, "vic", Role.viewer, PASSWORD, actor="test")
        token = create_token(app.store, "dana", label="test", actor="test")
        with app.store.unit_of_work() as uow:
            email_case, _ = CaseQueue(uow.cases).open_case(Anomaly(
                code=CaseKind.unmatched_email, subject="<m1@example.com>", company="northwind",
                summary="No job matches the email 'Re: <script>alert(2)</script>'",
                evidence={"email": {"from": "ops@example.com", "subject": "Re: <script>alert(2)</script>",
                                    "excerpt": SCRIPT_EMAIL}}))
            uow.commit()
        with serving(build_ui(app)) as url:
            yield {"url": url, "app": app, "token": token, "email_case": email_case.id}


def signed_in(browser, served, username):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(served["url"] + "/")
    assert page.url.startswith(served["url"] + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served["url"] + "/")
    return context, page


def missing_mapping_case(served):
    """The demo's case about item code EQUIP-VRF-9, which its mapping file leaves out on purpose."""
    with served["app"].store.unit_of_work() as uow:
        found = uow.cases.list(kinds=(CaseKind.missing_mapping,), statuses=tuple(CaseStatus))
    return next(case for case in found if "EQUIP-VRF-9" in case.summary)


def test_requests_without_a_session_or_token_are_refused_except_sign_in_and_health(served):
    with httpx.Client(base_url=served["url"], follow_redirects=False) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/login").status_code == 200
        page = client.get("/cases/1")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert client.post("/cases/1/decide", data={"decision": "resolve"}).status_code == 401
        assert client.get("/api/cases").status_code == 401
        assert client.get("/api/cases", headers={"Authorization": "Bearer co_wrong"}).status_code == 401
        listed = client.get("/api/cases", headers={"Authorization": f"Bearer {served['token']}"})
        assert listed.status_code == 200 and any(c["kind"] == "missing_mapping" for c in listed.json())
        assert "script-src" not in client.get("/login").headers["content-security-policy"]


def test_a_script_with_a_token_takes_a_decision_through_the_json_api_and_it_is_kept_with_its_author(served):
    auth = {"Authorization": f"Bearer {served['token']}"}
    with httpx.Client(base_url=served["url"]) as client:
        blocked = client.get("/api/cases", params={"kind": "rule_blocked"}, headers=auth).json()[0]
        tagged = client.post(f"/api/cases/{blocked['id']}/decisions", headers=auth,
                             json={"decision": "tag", "tag": "needs-sign-off"})
        assert tagged.status_code == 200 and tagged.json()["tags"] == ["needs-sign-off"]
        refused = client.post(f"/api/cases/{blocked['id']}/decisions", headers=auth, json={"decision": "ignore"})
        assert refused.status_code == 422 and "reason" in refused.json()["error"]
        assert client.post("/api/cases/99999/decisions", headers=auth, json={"decision": "tag", "tag": "x"}).status_code == 404
        shown = client.get(f"/api/cases/{blocked['id']}", headers=auth).json()
    assert shown["case"]["history"][-1]["actor"] == "dana"
    assert shown["decisions"], "the rule decisions come with the case"


def test_a_coordinator_filters_adds_the_mapping_replays_and_sees_the_invoice_and_the_history(browser, served):
    shots = os.environ.get("CLOSEOUT_SCREENSHOT_DIR")
    context, page = signed_in(browser, served, "dana")
    cookie = next(c for c in context.cookies() if c["name"] == "closeout_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    if shots:
        page.screenshot(path=str(Path(shots) / "queue-list.png"), full_page=True)
    page.click("summary")
    page.select_option("select[name=kind]", "missing_mapping")
    page.click("form[action='/'] button[type=submit]")
    rows = page.locator("table.cases tbody tr")
    assert rows.count() >= 1 and all("missing mapping" in text for text in rows.all_inner_texts())
    rows.filter(has_text="EQUIP-VRF-9").locator("td.id a").click()
    assert "EQUIP-VRF-9" in page.inner_text(".summary-text")
    assert page.inner_text("#case-status") == "open"
    page.fill("form.mapping input[name=value]", "2")
    if shots:
        page.screenshot(path=str(Path(shots) / "queue-case.png"), full_page=True)
    page.click("form.mapping button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert page.inner_text("#case-status") == "resolved"
    history = page.inner_text("#history")
    for words in ("mapping added", "replayed", "auto resolved", "dana"):
        assert words in history
    case = missing_mapping_case(served)
    app = served["app"]
    with app.store.unit_of_work() as uow:
        record = next(r for r in uow.push_records.for_work_order(case.work_order_id))
    invoices = app.ledger_for(app.config.company(case.company)).find_invoices([record.doc_number])
    assert [i.subtotal for i in invoices] == [record.amount]  # the lines, before the tax the ledger adds
    assert page.locator(".ledger-id").first.inner_text().startswith(invoices[0].ledger_id)
    if shots:
        page.screenshot(path=str(Path(shots) / "queue-case-resolved.png"), full_page=False)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(served["url"] + "/")
        page.screenshot(path=str(Path(shots) / "queue-phone.png"), full_page=False)
    context.close()


def test_a_wrong_password_keeps_the_username_typed_and_asks_only_for_the_password_again(browser, served):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(served["url"] + "/login")
    page.fill("input[name=username]", "vic")
    page.fill("input[name=password]", "not the password at all")
    page.click("button[type=submit]")

    assert page.locator("p[role=alert]").inner_text() == "That username and password do not match."
    assert page.input_value("input[name=username]") == "vic"
    assert page.input_value("input[name=password]") == ""
    assert page.evaluate("document.activeElement.name") == "password"
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served["url"] + "/")
    context.close()


def test_a_viewer_sees_no_decisions_and_a_posted_one_is_refused(browser, served):
    context, page = signed_in(browser, served, "vic")
    case_id = served["email_case"]
    page.goto(f"{served['url']}/cases/{case_id}")
    assert page.locator("form[action$='/decide']").count() == 0
    token = page.get_attribute("form[action='/logout'] input[name=csrf_token]", "value")
    answer = page.request.post(f"{served['url']}/cases/{case_id}/decide",
                               form={"csrf_token": token, "decision": "resolve", "note": "viewer tries"})
    assert answer.status == 403
    with served["app"].store.unit_of_work() as uow:
        assert uow.cases.get(case_id).status is CaseStatus.open
    context.close()


def test_a_form_without_its_csrf_token_is_refused(browser, served):
    context, page = signed_in(browser, served, "dana")
    case_id = served["email_case"]
    for form in ({"decision": "resolve"}, {"decision": "resolve", "csrf_token": "forged"}):
        answer = page.request.post(f"{served['url']}/cases/{case_id}/decide", form=form)
        assert answer.status == 403
    with served["app"].store.unit_of_work() as uow:
        assert uow.cases.get(case_id).status is CaseStatus.open
    context.close()


def test_an_email_with_a_script_tag_shows_as_text_and_runs_nothing(browser, served):
    context, page = signed_in(browser, served, "dana")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{served['url']}/cases/{served['email_case']}")
    assert page.inner_text(".email-text") == SCRIPT_EMAIL
    assert "<script>alert(2)</script>" in page.inner_text(".email-subject")
    assert page.evaluate("window.pwned === undefined")
    assert page.locator("main script, main img").count() == 0
    assert dialogs == []
    context.close()


def test_a_coordinator_tags_several_filtered_cases_in_one_bulk_decision(browser, served):
    context, page = signed_in(browser, served, "dana")
    page.goto(served["url"] + "/?kind=rule_blocked")
    boxes = page.locator("input[name=case_id]")
    ids = [int(boxes.nth(i).get_attribute("value")) for i in range(2)]
    for i in range(2):
        boxes.nth(i).check()
    page.select_option("select[name=decision]", "tag")
    page.fill("fieldset input[name=tag]", "batch-1")
    page.click("fieldset button[type=submit]")
    assert "tag: 2 of 2 cases" in page.inner_text(".flash.ok")
    with served["app"].store.unit_of_work() as uow:
        assert all("batch-1" in uow.cases.get(i).tags for i in ids)
    page.goto(served["url"] + "/?tag=batch-1")
    assert page.locator("table.cases tbody tr").count() == 2
    context.close()


def test_an_admin_adds_a_user_and_reads_the_global_audit_trail_while_a_coordinator_may_not_manage_users(browser, served):
    context, page = signed_in(browser, served, "ada")
    page.goto(served["url"] + "/users")
    page.fill("form[action='/users'] input[name=username]", "fin")
    page.select_option("form[action='/users'] select[name=role]", "finance")
    page.fill("form[action='/users'] input[name=password]", PASSWORD)
    page.click("form[action='/users'] button[type=submit]")
    assert "fin can now sign in as finance" in page.inner_text(".flash.ok")
    page.goto(served["url"] + "/audit")
    trail = page.inner_text("table.audit")
    assert "user added" in trail and "user:fin" in trail and "opened" in trail
    context.close()
    context, page = signed_in(browser, served, "fin")
    assert page.goto(served["url"] + "/users").status == 403
    context.close()


def _import_stray_email(served, tmp_path, number: int, text: str) -> int:
    """A message from a stranger naming no job: the mail step queues it as an unmatched email."""
    from services.mail.ingest import import_mail

    box = tmp_path / f"stray{number}" / "new"
    box.mkdir(parents=True)
    (box / "1.eml").write_bytes(
        f"From: Pat <pat@stranger.example>\r\nTo: field@northwind.example\r\nSubject: About the visit {number}\r\n"
        f"Message-ID: <stray{number}@stranger.example>\r\nDate: Mon, 02 Nov 2026 15:00:00 +0000\r\n\r\n{text}\r\n"
        .encode())
    import_mail(served["app"], box.parent, company_id="northwind")
    with served["app"].store.unit_of_work() as uow:
        found = uow.cases.list(kinds=(CaseKind.unmatched_email,))
    return next(c.id for c in found if c.evidence.get("message_id") == f"<stray{number}@stranger.example>")


def _a_demo_job(served, index: int) -> str:
    with served["app"].store.unit_of_work() as uow:
        return sorted(o.job_number for o in uow.work_orders.latest(company="northwind"))[index]


def test_a_coordinator_links_an_unmatched_email_to_a_typed_job_and_sees_its_note_on_the_work_order(
        browser, served, tmp_path):
    case_id = _import_stray_email(served, tmp_path, 1, "The side gate is locked; call 555-0100 first.")
    job = _a_demo_job(served, 0)
    context, page = signed_in(browser, served, "dana")
    page.goto(f"{served['url']}/cases/{case_id}")
    page.fill("form.link-email input[name=job_number]", job)
    page.click("form.link-email button[type=submit]")
    assert f"linked to job {job}" in page.inner_text(".flash.ok")
    assert page.inner_text("#case-status") == "resolved"
    assert "The side gate is locked; call 555-0100 first." in page.inner_text("ul.notes")
    assert page.locator("form.link-email").count() == 0
    context.close()


def test_a_script_links_an_email_through_the_api_while_a_viewer_sees_no_link_form(browser, served, tmp_path):
    case_id = _import_stray_email(served, tmp_path, 2, "Invoice to the site office please.")
    context, page = signed_in(browser, served, "vic")
    page.goto(f"{served['url']}/cases/{case_id}")
    assert page.locator("form.link-email").count() == 0
    context.close()
    job = _a_demo_job(served, 1)
    with httpx.Client(base_url=served["url"], headers={"Authorization": f"Bearer {served['token']}"}) as client:
        wrong = client.post(f"/api/cases/{case_id}/decisions", json={"decision": "link_email", "work_order": "nope"})
        done = client.post(f"/api/cases/{case_id}/decisions", json={"decision": "link_email", "work_order": job})
    assert wrong.status_code == 422 and "no work order or job number" in wrong.json()["error"]
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert done.json()["history"][-2]["after"]["job_number"] == job


def test_a_coordinator_fixes_an_unpriced_line_through_the_form_while_a_viewer_and_bad_prices_are_refused(
        browser, served):
    with served["app"].store.unit_of_work() as uow:
        case = next(c for c in uow.cases.list(kinds=(CaseKind.rule_blocked,))
                    if (o := uow.work_orders.get(c.work_order_id, c.work_order_version)) and o.job_number == "1034")
    viewer_token = create_token(served["app"].store, "vic", label="test", actor="test")
    with httpx.Client(base_url=served["url"]) as client:
        refused = client.post(f"/api/cases/{case.id}/decisions", headers={"Authorization": f"Bearer {viewer_token}"},
                              json={"decision": "fix_price", "line": "x", "price": "1", "reason": "r"})
        bad = client.post(f"/api/cases/{case.id}/decisions", headers={"Authorization": f"Bearer {served['token']}"},
                          json={"decision": "fix_price", "line": "x", "price": "abc", "reason": "r"})
    assert refused.status_code == 403 and bad.status_code == 422 and "number" in bad.json()["error"]
    context, page = signed_in(browser, served, "vic")
    page.goto(f"{served['url']}/cases/{case.id}")
    assert page.locator("form.fix-price").count() == 0
    context.close()
    context, page = signed_in(browser, served, "dana")
    page.goto(f"{served['url']}/cases/{case.id}")
    assert page.locator("form.fix-price input[name=line]:checked").count() == 1  # the unpriced line
    page.fill("form.fix-price input[name=price]", "64.00")
    page.fill("form.fix-price input[name=reason]", "price list 2026")
    page.click("form.fix-price button[type=submit]")
    assert "created" in page.inner_text(".flash.ok")
    assert page.inner_text("#case-status") == "resolved"
    history = page.inner_text("#history")
    assert "price fixed" in history and "→ 64.00" in history
    assert page.locator(".ledger-id").first.inner_text() != "—"
    context.close()


def test_a_coordinator_resolves_a_blocked_job_by_choosing_bill_nothing_and_the_job_says_not_billed(browser, served):
    from services.explain import explain_work_order

    with served["app"].store.unit_of_work() as uow:
        case = next(c for c in uow.cases.list(kinds=(CaseKind.rule_blocked,))
                    if (o := uow.work_orders.get(c.work_order_id, c.work_order_version)) and o.job_number == "1021")
    context, page = signed_in(browser, served, "dana")
    page.goto(f"{served['url']}/cases/{case.id}")
    assert page.locator("form.resolve-outcome button[name=outcome]").count() == 3
    page.fill("form.resolve-outcome input[name=note]", "warranty callback, no charge")
    page.click("form.resolve-outcome button[value=bill_nothing]")
    assert "the job is not billed" in page.inner_text(".flash.ok")
    assert page.inner_text("#case-status") == "resolved"
    assert "outcome decided" in page.inner_text("#history")
    context.close()
    with served["app"].store.unit_of_work() as uow:
        ending = explain_work_order(uow, "1021").ending()
    assert ending.startswith("not billed: warranty callback, no charge (dana")
