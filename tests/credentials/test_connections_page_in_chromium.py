"""An admin's way through the Connections page on the demo in headless Chromium: the QuickBooks company shows as
refused, one click on Reconnect leads to the sandbox's Intuit consent page, Approve comes back to the page, which
now says connected; the case that said refused is closed."""

from __future__ import annotations

import pytest

from closeout.settings import Settings
from closeout.ui import build_ui
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.service import CaseQueue
from exceptions_queue.users import Role
from services.users import add_user
from tests.served_ui import PASSWORD, serving, sign_in
from workorders.anomalies import Anomaly

DEMO_REALM = "9130355221"
ROW = "#link-northwind-ledger-quickbooks"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo's UI on a free port, an admin and a coordinator, and the QuickBooks ledger refused."""
    settings = Settings(home=tmp_path_factory.mktemp("connections") / "workspace", database_url=None, config=None)
    config = install_demo_config(settings.resolved_home())
    with open_app(settings=settings, config_path=config) as app:
        add_user(app.store, "ada", Role.admin, PASSWORD, actor="test")
        add_user(app.store, "dana", Role.coordinator, PASSWORD, actor="test")
        with app.store.unit_of_work() as uow:
            refused, _ = CaseQueue(uow.cases).open_case(Anomaly(
                code=CaseKind.ledger_refresh_failed, subject="northwind:quickbooks", company="northwind",
                summary="quickbooks refused to renew Closeout's access for northwind (invalid_grant); pushing to it "
                        "has stopped", evidence={"ledger": "quickbooks", "error": "invalid_grant"},
                suggested_actions=("reconnect_ledger", "resolve")))
            uow.commit()
        with serving(build_ui(app)) as url:
            yield {"url": url, "app": app, "refused": refused.id}


def signed_in(browser, served, username):
    return sign_in(browser, served["url"], username)


def test_an_admin_clicks_reconnect_approves_at_the_consent_page_and_sees_connected(browser, served):
    context, page = signed_in(browser, served, "ada")
    try:
        page.click("nav >> text=Connections")
        page.wait_for_url(served["url"] + "/connections")
        assert page.inner_text(f"{ROW} .link-state") == "refused"
        assert f"case #{served['refused']}" in page.inner_text(ROW)
        assert page.inner_text("#link-northwind-source-csv-drop .link-state") == "not needed"
        assert page.inner_text("#link-northwind-mailbox-field .link-state") == "not needed"
        page.click(f"{ROW} button:has-text('Reconnect')")
        assert page.title() == "Intuit: allow access?"
        assert page.input_value("input[name=realm_id]") == DEMO_REALM
        page.click("button:has-text('Approve')")
        page.wait_for_url(served["url"] + "/connections")
        assert page.inner_text(".flash.ok").startswith(
            f"connected northwind to QuickBooks Online company 'Sandbox Company {DEMO_REALM}' (realm {DEMO_REALM})")
        assert page.inner_text(f"{ROW} .link-state") == "connected"
        assert "expires in" in page.inner_text(ROW)
    finally:
        context.close()
    with served["app"].store.unit_of_work() as uow:
        assert uow.cases.get(served["refused"]).status is CaseStatus.resolved


def test_a_coordinator_sees_no_connections_link_and_is_refused_the_page(browser, served):
    context, page = signed_in(browser, served, "dana")
    try:
        assert page.locator("nav >> text=Connections").count() == 0
        answer = page.goto(served["url"] + "/connections")
        assert answer.status == 403 and "only an admin manages connections" in page.content()
    finally:
        context.close()
