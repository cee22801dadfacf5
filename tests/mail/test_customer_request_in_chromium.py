"""A coordinator in headless Chromium asks a blocked job's customer for a sign-off on the demo, and the customer's
reply (real SMTP out, real Dovecot in) gets the job invoiced and the case closed without anyone touching it."""

from __future__ import annotations

import os
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from closeout.demo.make_mail import signature_png
from closeout.notifiers import open_notifiers
from closeout.settings import Settings
from closeout.ui import build_ui
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from dovecot_server import USER
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.users import Role
from mail_factory import T0
from services.intake import pull_source
from services.mail.ingest import ingest_mailbox
from services.notify import send_due
from services.prepare import prepare_batch
from services.push.batch import push_batch
from services.users import add_user
from tests.notifications.conftest import SmtpServer
from tests.served_ui import PASSWORD, serving, sign_in
from workorders.push import PushStatus

JOB = "1010"  # the demo's job completed without a signature: sign_off_required blocks it
OFFICE = f"{USER}@localhost"


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def with_notify_and_imap(config_text: str, *, smtp_port: int, dovecot, folder: str) -> str:
    """Northwind (the demo's first company) e-mails by SMTP on 127.0.0.1 and also reads an IMAP mailbox."""
    head, first, second = config_text.split("[[companies]]", 2)
    extra = f'''
[[companies.mailboxes]]
kind = "imap"
name = "office"
host = "127.0.0.1"
port = {dovecot.imaps_port}
username = "{USER}"
ca_file = "{dovecot.ca_file}"
folders = ["{folder}"]
read_timeout = 5
connect_timeout = 5

[companies.notify]
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_security = "plain"
sender = "office@northwind.example"
reply_to = "{OFFICE}"

'''
    return head + "[[companies]]" + first + extra + "[[companies]]" + second


def run(app) -> None:
    """One pipeline run's steps, in its order: pull, mail, prepare, push, notifications."""
    for company in app.companies():
        for source in company.sources:
            pull_source(app, company, source)
        for mailbox in company.mailboxes:
            ingest_mailbox(app, company, mailbox)
    while prepare_batch(app, run_id="chromium").evaluated:
        pass
    for company in app.companies():
        while (step := push_batch(app, company)).pushed + step.rejected + step.uncertain:
            pass
    with open_notifiers(app.config) as notifier_for:
        send_due(app.store, notifier_for)


def customer_reply(request: EmailMessage, sender: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = request["Reply-To"]
    message["Subject"] = f"Re: {request['Subject']}"
    message["Date"] = format_datetime(T0)
    message["Message-ID"] = "<signed-1010@foxglove.example>"
    message["In-Reply-To"] = request["Message-ID"]
    message.set_content("Looks great, we accept the work. Signature attached.\n\n"
                        + "\n".join(f"> {line}" for line in request.get_content().splitlines()))
    message.add_attachment(signature_png(), maintype="image", subtype="png", filename="signature.png")
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture
def served(tmp_path, smtp, dovecot, folder, monkeypatch):
    """The demo after one run, northwind e-mailing and reading Dovecot too, two people, and the UI on a port."""
    monkeypatch.setenv("CLOSEOUT_IMAP_PASSWORD_OFFICE_NORTHWIND", __import__("dovecot_server").PASSWORD)
    settings = Settings(home=tmp_path / "workspace", database_url=None, config=None)
    config = install_demo_config(settings.resolved_home())
    config.write_text(with_notify_and_imap(config.read_text(), smtp_port=smtp.port, dovecot=dovecot, folder=folder))
    with open_app(settings=settings, config_path=config) as app:
        run(app)
        add_user(app.store, "ada", Role.admin, PASSWORD, actor="test", email="ada@northwind.example")
        add_user(app.store, "dana", Role.coordinator, PASSWORD, actor="test", email="dana@northwind.example")
        with serving(build_ui(app)) as url:
            yield {"url": url, "app": app}


def test_a_coordinator_requests_a_sign_off_the_customers_reply_arrives_and_the_case_closes_by_itself(
        browser, served, smtp, imap_admin, folder):
    app, url = served["app"], served["url"]
    with app.store.unit_of_work() as uow:
        (case,) = [c for c in uow.cases.list(kinds=(CaseKind.rule_blocked,)) if f"Job {JOB} " in c.summary]
        order = uow.work_orders.get(case.work_order_id)
    customer = order.customer.email
    assert smtp.received == []

    context, page = sign_in(browser, url, "ada")
    page.goto(f"{url}/cases/{case.id}")
    assert page.inner_text("#case-status") == "open"
    page.select_option("select[name=assignee]", "dana")
    page.click("form:has(input[value=assign]) button[type=submit]")
    page.fill("form.ask-customer input[name=note]", "Thank you for choosing Northwind.")
    page.click("form.ask-customer button[type=submit]")
    assert "Sign-off requested" in page.inner_text(".flash")
    if os.environ.get("CLOSEOUT_SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["CLOSEOUT_SCREENSHOT_DIR"], "case-sign-off-requested.png"),
                        full_page=True)

    run(app)  # sends the request and tells dana of her case
    (request,) = smtp.to(customer)
    assert f"Job #{JOB}" in request["Subject"] and request["Reply-To"] == OFFICE
    imap_admin.append(folder, customer_reply(request, f"Facilities <{customer}>"))
    run(app)  # the reply is read, the job judged again, invoiced, and the case closes itself
    run(app)

    page.reload()
    assert page.inner_text("#case-status") == "resolved"
    with app.store.unit_of_work() as uow:
        closed = uow.cases.get(case.id)
        pushed = [r for r in uow.push_records.for_work_order(order.id) if r.status is PushStatus.pushed]
    assert len(pushed) == 1 and pushed[0].doc_number.endswith(JOB)
    assert closed.status is CaseStatus.resolved and closed.history[-1].action == "auto_resolved"
    (told,) = smtp.to("dana@northwind.example")  # the assignee got one e-mail, which is answered by nobody
    assert len(smtp.to(customer)) == 1 and told["Reply-To"] is None and f"#{case.id}" in told["Subject"]
    context.close()
