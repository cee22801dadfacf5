"""A person's way through `closeout connect` on the demo: headless Chromium opens the printed address, the sandbox's
Intuit consent page offers the demo's company, one click on Approve reaches the listener, the tokens are kept."""

from __future__ import annotations

import json
import queue
import threading

import pytest
from oauth_consent_kit import free_port

from closeout.credentials.connect import connect, resolve
from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config

DEMO_REALM = "9130355221"


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_one_click_on_approve_in_chromium_connects_the_demos_quickbooks_through_the_listener(workspace, page):
    addresses: queue.Queue[str] = queue.Queue()
    outcome: dict[str, object] = {}
    workspace.mkdir(parents=True)
    with open_app(settings=Settings(), config_path=install_demo_config(workspace)) as app:
        target = resolve(app, "quickbooks", "northwind")

        def run() -> None:
            try:
                outcome["line"] = connect(target, port=free_port(), open_browser=addresses.put, timeout=60,
                                          say=lambda line: None)
            except Exception as exc:  # noqa: BLE001 - asserted below
                outcome["error"] = exc

        flow = threading.Thread(target=run, daemon=True)
        flow.start()
        page.goto(addresses.get(timeout=30))
        assert page.title() == "Intuit: allow access?"
        assert page.input_value("input[name=realm_id]") == DEMO_REALM  # the demo's company, offered first
        page.click("button:has-text('Approve')")
        page.wait_for_url("http://localhost:*/callback?*")
        assert "Closeout received the provider's answer" in page.content()
        flow.join(timeout=30)
        assert "error" not in outcome, outcome
        assert str(outcome["line"]).startswith(
            f"connected northwind to QuickBooks Online company 'Sandbox Company {DEMO_REALM}' (realm {DEMO_REALM})")
        stored = json.loads((app.home / "tokens" / "northwind-quickbooks.json").read_text())
        assert stored["access_token"] and stored["refresh_token"]
