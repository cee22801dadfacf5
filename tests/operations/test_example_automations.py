"""The example automations, applied to the harness by setup's code, alert through the closeout-notify block."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from closeout.orchestration.prefect_setup import apply_automations, automation_files, save_notify_webhook

pytestmark = pytest.mark.e2e


@pytest.fixture
def alert_inbox():
    """A local webhook receiver: the JSON bodies it was sent."""
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()


def test_a_stalled_mailbox_event_reaches_the_notification_webhook(prefect_api, alert_inbox, forget_automations):
    from prefect.events import emit_event

    url, received = alert_inbox
    applied = apply_automations(automation_files(), notify_block_id=save_notify_webhook(url))

    assert ("closeout-stalled-mailbox", True) in applied
    deadline = time.monotonic() + 90
    while not received and time.monotonic() < deadline:  # the trigger service loads new automations by itself
        emit_event(event="closeout.mailbox.stalled",
                   resource={"prefect.resource.id": "closeout.mailbox.alert-co.field"},
                   payload={"company": "alert-co", "mailbox": "field", "why": "the login was refused"})
        time.sleep(3)

    assert received, "no alert reached the webhook"
    assert "closeout.mailbox.alert-co.field is not being read" in received[0]["text"]
    assert "the login was refused" in received[0]["text"]
