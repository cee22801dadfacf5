"""`closeout cases request_sign_off` on the demo's job 1010 (completed without a signature): refused in one line
while the company sends no e-mail, then recorded, and `closeout notify send` e-mails the customer once."""

from __future__ import annotations

import json

import pytest

from tests.notifications.conftest import SmtpServer

JOB = "1010"


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def case_of(closeout, job: str) -> int:
    listed = closeout("cases", "list", "--kind", "rule_blocked", "--json")
    assert listed.exit_code == 0, listed.output
    return next(case["id"] for case in json.loads(listed.stdout) if f"Job {job} " in case["summary"])


def northwind_notifies_by(closeout, port: int) -> None:
    """The demo's first company gets an SMTP server on 127.0.0.1 (its table before the second company's)."""
    config = closeout.home / "closeout.toml"
    text = config.read_text()
    first, second = text.split("[[companies]]", 2)[1:]
    notify = (f'[companies.notify]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_security = "plain"\n'
              'sender = "office@northwind.example"\nreply_to = "field@northwind.example"\n\n')
    config.write_text(text.split("[[companies]]", 1)[0] + "[[companies]]" + first + notify + "[[companies]]" + second)


def test_a_sign_off_request_is_refused_in_one_line_while_the_company_sends_no_email(closeout):
    case = case_of(closeout, JOB)

    ran = closeout("cases", "request_sign_off", str(case))
    photos = closeout("cases", "request-photos", str(case))

    assert ran.exit_code == 2 and len(ran.lines) == 1 and "Traceback" not in ran.output, ran.output
    assert "northwind sends no e-mail" in ran.lines[0], ran.output
    assert photos.exit_code == 2 and "not photos_before_after" in photos.output, photos.output
    shown = json.loads(closeout("cases", "show", str(case), "--json").stdout)
    assert [entry["action"] for entry in shown["history"]] == ["opened"]


def test_a_sign_off_request_is_recorded_and_notify_send_emails_the_customer_once(closeout, smtp):
    northwind_notifies_by(closeout, smtp.port)
    case = case_of(closeout, JOB)

    ran = closeout("cases", "request_sign_off", str(case), "-m", "Thank you for choosing Northwind.")
    again = closeout("cases", "request_sign_off", str(case))
    assert smtp.received == []
    sent = closeout("notify", "send")
    resent = closeout("notify", "send")

    assert ran.exit_code == 0, ran.output
    assert again.exit_code == 2 and "already asked" in again.output, again.output
    assert sent.exit_code == 0 and resent.exit_code == 0, sent.output + resent.output
    ((recipients, message),) = smtp.received
    assert f"asked {recipients[0]} for a sign-off" in ran.output, ran.output
    assert f"Job #{JOB}" in message["Subject"] and message["Reply-To"] == "field@northwind.example"
    assert "Thank you for choosing Northwind." in message.get_content()
