"""Asking the customer closes the loop: a sign-off requested from a blocked job's case goes to the customer by
real SMTP, their reply with a signature arrives in a real Dovecot mailbox, and the next run invoices the job once
and closes the case by itself; a stranger's reply to the same subject unblocks nothing."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from closeout.demo.make_mail import signature_png, tiny_jpeg
from closeout.notifiers import open_notifiers
from closeout.wiring import build_inbox
from connectors.source_paging import SourcePage
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import CUSTOMER_REQUESTS, CaseFilters, DecisionError, offered_decisions
from exceptions_queue.users import Role, User
from mail_factory import T0
from services.casework import StoreDesk
from services.config import CloseoutConfig, NotifyConfig
from services.customer_requests import REQUESTS
from services.intake import pull_source
from services.mail.ingest import ingest_mailbox
from services.notify import send_due
from services.prepare import prepare_batch
from services.push.batch import push_batch
from storage import open_store
from tests.fakes import FakeRuntime, FakeSource, company_config, csv_job
from tests.notifications.conftest import SmtpServer
from workorders.push import PushStatus

DANA = User(username="dana", role=Role.coordinator)
CUSTOMER = "hello@maplestreetbakery.example"
UNSIGNED = dict(signed_by="", signed_at="")  # completed without a signature: sign_off_required blocks it


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shop(tmp_path, smtp, imap_mailbox, imap_password):
    """acme: one unsigned job blocked by sign_off_required, e-mail by SMTP on 127.0.0.1, an IMAP mailbox on
    Dovecot; a real SQLite store, the fake ledger and csv source."""
    mailbox = imap_mailbox()
    notify = NotifyConfig(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="plain",
                          sender="office@acme.test", reply_to="field@acme.test")
    company = company_config(notify=notify, mailboxes=(mailbox,))
    store = open_store(f"sqlite:///{tmp_path / 'closeout.db'}")
    app = FakeRuntime(CloseoutConfig(companies=(company,)), home=tmp_path / "home", store=store, sources={
        "csv-drop": FakeSource([SourcePage(jobs=(csv_job("J1", "1001", **UNSIGNED),), next_cursor="c1")])})
    run(app)
    yield app
    store.close()


def run(app) -> None:
    """What one pipeline run does, in its order: pull, read the mailboxes, prepare, push, send notifications."""
    company = app.config.company("acme")
    pull_source(app, company, company.sources[0])
    for mailbox in company.mailboxes:
        ingest_mailbox(app, company, mailbox, inbox=build_inbox(company, mailbox))
    batch = 0
    while prepare_batch(app, run_id=f"run-{batch}").evaluated:
        batch += 1
    while (step := push_batch(app, company, limit=30)).pushed + step.rejected + step.uncertain:
        pass
    with open_notifiers(app.config) as notifier_for:
        send_due(app.store, notifier_for)


def blocked_case(app):
    (case,) = StoreDesk(app).list_cases(CaseFilters(kinds=(CaseKind.rule_blocked,)))
    return case


def reply(request: EmailMessage, *, sender: str, body: str, attachments: tuple = (), number: int = 1) -> bytes:
    """The customer's mail program answering ``request``: "Re:" subject, threaded, the request quoted below."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = request["Reply-To"] or request["From"]
    message["Subject"] = f"Re: {request['Subject']}"
    message["Date"] = format_datetime(T0)
    message["Message-ID"] = f"<reply-{number}@mail.example>"
    message["In-Reply-To"] = request["Message-ID"]
    message["References"] = request["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in request.get_content().splitlines())
    message.set_content(f"{body}\n\nOn Mon, Nov 16, 2026, Acme Services wrote:\n{quoted}\n")
    for name, data, media_type in attachments:
        maintype, subtype = media_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_a_sign_off_requested_by_email_is_answered_by_the_customer_and_the_job_is_invoiced_once_by_itself(
        shop, smtp, imap_admin, folder):
    case = blocked_case(shop)
    assert "request_sign_off" in offered_decisions(case)

    asked = StoreDesk(shop).decide(case.id, "request_sign_off", actor=DANA, fields={"note": "Thanks for having us!"})
    assert smtp.to(CUSTOMER) == []  # recorded with the decision; the run sends it
    run(shop)

    (request,) = smtp.to(CUSTOMER)
    assert (request["From"], request["Reply-To"]) == ("office@acme.test", "field@acme.test")
    assert "Job #1001" in request["Subject"] and "Thanks for having us!" in request.get_content()
    assert "sign off" not in request["Subject"].lower()  # a bare "Re:" must not read as the customer's sign-off
    assert asked.is_open and asked.history[-1].action == "customer_asked"
    assert shop.ledger_for(shop.config.company("acme")).invoices == {}

    signature = ("signature.png", signature_png(), "image/png")
    imap_admin.append(folder, reply(request, sender=f"Grace Kim <{CUSTOMER}>", attachments=(signature,),
                                    body="All good, I accept the work. My signature is attached."))
    run(shop)
    run(shop)

    ledger = shop.ledger_for(shop.config.company("acme"))
    (invoice,) = ledger.invoices.values()
    assert invoice.doc_number == "AC-1001"
    (attached,) = ledger.attached[invoice.ledger_id]  # finance gets the customer's signature with the invoice
    assert attached[0].startswith("signature-") and attached[2] == signature[1]
    with shop.store.unit_of_work() as uow:
        closed = uow.cases.get(case.id)
        order = uow.work_orders.get("csv:J1")
        pushes = uow.push_records.for_work_order("csv:J1")
    assert closed.status is CaseStatus.resolved and closed.history[-1].actor == "closeout"
    assert [e.action for e in closed.history] == ["opened", "customer_asked", "auto_resolved"]
    assert [(r.work_order_version, r.status) for r in pushes] == [(order.version, PushStatus.pushed)]
    assert any(a.kind == "sign_off" and a.counts for a in order.approvals)
    assert len(smtp.to(CUSTOMER)) == 1 and len(smtp.received) == 1


def test_a_strangers_reply_to_the_request_with_a_signature_unblocks_nothing(shop, smtp, imap_admin, folder):
    case = blocked_case(shop)
    StoreDesk(shop).decide(case.id, "request_sign_off", actor=DANA, fields={})
    run(shop)
    (request,) = smtp.to(CUSTOMER)

    signature = ("signature.png", signature_png(), "image/png")
    imap_admin.append(folder, reply(request, sender="Mallory <mallory@elsewhere.example>", attachments=(signature,),
                                    body="I accept the work. Signature attached."))
    run(shop)

    assert shop.ledger_for(shop.config.company("acme")).invoices == {}
    with shop.store.unit_of_work() as uow:
        order = uow.work_orders.get("csv:J1")
        cases = [uow.cases.get(c.id) for c in uow.cases.list(kinds=(CaseKind.rule_blocked,), statuses=None)]
    asked = next(c for c in cases if c.id == case.id)
    assert asked.is_open and [e.action for e in asked.history] == ["opened", "customer_asked"]
    assert order.version == 2 and order.attachments[0].file_name == "signature.png"
    assert not any(a.counts for a in order.attachments + order.approvals)  # kept and shown, never counted
    assert all(c.is_open for c in cases)
    assert "mallory@elsewhere.example is not from the customer" in max(cases, key=lambda c: c.id).summary


def test_a_customers_reply_that_does_not_accept_the_work_unblocks_nothing(shop, smtp, imap_admin, folder):
    case = blocked_case(shop)
    StoreDesk(shop).decide(case.id, "request_sign_off", actor=DANA, fields={})
    run(shop)
    (request,) = smtp.to(CUSTOMER)

    imap_admin.append(folder, reply(request, sender=CUSTOMER, body="The tap still drips. Please come back first."))
    run(shop)

    assert shop.ledger_for(shop.config.company("acme")).invoices == {}
    with shop.store.unit_of_work() as uow:
        order = uow.work_orders.get("csv:J1")
    assert order.version == 2 and order.approvals == () and "tap still drips" in order.notes[-1].text


def test_photos_requested_by_email_come_back_as_before_and_after_photos_of_the_job(tmp_path, smtp, imap_mailbox,
                                                                                    imap_password, imap_admin,
                                                                                    folder):
    mailbox = imap_mailbox()
    notify = NotifyConfig(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="plain",
                          sender="office@acme.test")
    company = company_config(notify=notify, mailboxes=(mailbox,))
    store = open_store(f"sqlite:///{tmp_path / 'closeout.db'}")
    app = FakeRuntime(CloseoutConfig(companies=(company,)), home=tmp_path / "home", store=store, sources={
        "csv-drop": FakeSource([SourcePage(jobs=(csv_job("J1", "1001", job_type="installation"),),
                                           next_cursor="c1")])})
    try:
        run(app)
        case = blocked_case(app)
        assert [d["rule_id"] for d in case.evidence["decisions"]] == ["photos_before_after"]
        with pytest.raises(DecisionError, match="not sign_off_required"):
            StoreDesk(app).decide(case.id, "request_sign_off", actor=DANA, fields={})
        StoreDesk(app).decide(case.id, "request_photos", actor=DANA, fields={})
        run(app)
        (request,) = smtp.to(CUSTOMER)
        assert request["Reply-To"] is None and request["From"] == "office@acme.test"  # replies go to the sender

        photos = (("before.jpg", tiny_jpeg(16, 16), "image/jpeg"), ("after.jpg", tiny_jpeg(16, 16), "image/jpeg"))
        imap_admin.append(folder, reply(request, sender=CUSTOMER, attachments=photos, body="Here you go."))
        run(app)

        (invoice,) = app.ledger_for(company).invoices.values()
        with app.store.unit_of_work() as uow:
            assert uow.cases.get(case.id).status is CaseStatus.resolved
        assert invoice.doc_number == "AC-1001" and len(smtp.to(CUSTOMER)) == 1
    finally:
        store.close()


def test_a_request_is_refused_in_one_line_when_it_could_not_come_back_or_was_already_made(shop, smtp):
    case = blocked_case(shop)
    desk = StoreDesk(shop)

    desk.decide(case.id, "request_sign_off", actor=DANA, fields={})
    with pytest.raises(DecisionError, match="already asked") as again:
        desk.decide(case.id, "request_sign_off", actor=DANA, fields={})
    with pytest.raises(PermissionError):
        desk.decide(case.id, "request_sign_off", actor=User(username="vic", role=Role.viewer), fields={})
    quiet = FakeRuntime(CloseoutConfig(companies=(company_config(),)), home=shop.home, store=shop.store)
    with pytest.raises(DecisionError, match="sends no e-mail"):
        StoreDesk(quiet).decide(case.id, "request_sign_off", actor=DANA, fields={})
    deaf = FakeRuntime(CloseoutConfig(companies=(company_config(notify=shop.config.company("acme").notify),)),
                       home=shop.home, store=shop.store)
    with pytest.raises(DecisionError, match="reads no mailbox"):
        StoreDesk(deaf).decide(case.id, "request_sign_off", actor=DANA, fields={})

    assert "\n" not in str(again.value)
    run(shop)
    assert len(smtp.to(CUSTOMER)) == 1
    with shop.store.unit_of_work() as uow:
        assert [e.action for e in uow.cases.get(case.id).history] == ["opened", "customer_asked"]


def test_each_request_decision_answers_the_rule_its_name_says():
    assert {name: request.rule_id for name, request in REQUESTS.items()} == CUSTOMER_REQUESTS
