"""A pushed invoice carries its work order's sign-off and photos, once, in both ledgers; e-mailing it is opt-in, once."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest

from closeout.demo.make_mail import signature_png, tiny_jpeg
from services.counts import StepCounts
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import Pusher, push_batch, push_claimed
from services.push import evidence as push_evidence
from services.mail.files import attachment_path
from services.push.evidence import FAILURES_BEFORE_CASE
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind
from workorders.work_order import Attachment, AttachmentKind

@pytest.fixture(autouse=True)
def fast_ledger_minutes(monkeypatch):
    """Xero's 60 calls a minute, paced in-process, would make these runs wait: a "minute" lasts a second here."""
    monkeypatch.setenv("CLOSEOUT_LEDGER_TIME_SCALE", "60")


JOB = {"northwind": "1001", "harbour": "501"}
"""A job of each demo company that is ready to invoice as it comes from its source."""


def _evidence(name: str, kind: AttachmentKind, data: bytes, media_type: str) -> tuple[Attachment, bytes]:
    digest = hashlib.sha256(data).hexdigest()
    return Attachment(content_hash=digest, file_name=name, kind=kind, media_type=media_type, size_bytes=len(data)), data


SIGN_OFF = [_evidence("signature.png", AttachmentKind.signature, signature_png(), "image/png"),
            _evidence("before.jpg", AttachmentKind.photo_before, tiny_jpeg(16, 16), "image/jpeg"),
            _evidence("after.jpg", AttachmentKind.photo_after, tiny_jpeg(24, 16), "image/jpeg")]


def _open(home, *, send: bool = False):
    home.mkdir(parents=True, exist_ok=True)
    config = install_demo_config(home)
    if send:
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("create_customers = true\n", "create_customers = true\nsend_to_customer = true\n"),
                          encoding="utf-8")
    return open_app(config_path=config)


def _prepare(app, company_id: str, evidence, *, clear_email: bool = False) -> str:
    """Pull the company's jobs, give its chosen job a version carrying ``evidence``, prepare drafts: the job's id."""
    company = app.config.company(company_id)
    for source in company.sources:
        pull_source(app, company, source)
    with app.store.unit_of_work() as uow:
        order = next(o for o in uow.work_orders.latest(company=company_id) if o.job_number == JOB[company_id])
        for attachment, data in evidence:
            path = attachment_path(app.home, attachment.content_hash)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        update = {"attachments": order.attachments + tuple(a for a, _ in evidence)}
        if clear_email:
            update["customer"] = order.customer.model_copy(update={"email": None})
        uow.work_orders.save(order.model_copy(update=update))
        uow.commit()
    while prepare_batch(app, run_id="test").evaluated:
        pass
    return order.id


def _push_invoices_only(app, company) -> None:
    """Push every draft as push_batch does, but stop before its evidence step (as if the worker died there)."""
    with app.store.unit_of_work() as uow:
        records = uow.push_records.claim(ledger=company.ledger.kind, company=company.id, limit=100)
        uow.commit()
    push_claimed(app, Pusher(app, company), records, StepCounts())


def _push_all(app, company) -> StepCounts:
    total = StepCounts()
    while (step := push_batch(app, company, limit=50)).pushed + step.rejected + step.uncertain:
        total += step
    return total + step


def _invoice_of(app, work_order_id: str) -> str:
    with app.store.unit_of_work() as uow:
        return uow.push_records.for_work_order(work_order_id)[-1].ledger_id


def _evidence_stats(app, company) -> dict:
    system, ident = ("qbo", company.ledger.realm_id) if company.ledger.kind == "quickbooks" else (
        "xero", company.ledger.tenant_id)
    return httpx.get(f"{app.sandbox_url}/_sandbox/{system}/{ident}/evidence", trust_env=False, timeout=10).json()


def _cases(app, kind: CaseKind) -> list:
    return [case for case in app.store.cases.list() if case.kind is kind]


@pytest.mark.parametrize("company_id", ["northwind", "harbour"])
def test_a_pushed_work_order_with_a_signature_and_two_photos_has_exactly_three_attachments_in_the_ledger(
        workspace, company_id):
    with _open(workspace) as app:
        company = app.config.company(company_id)
        work_order_id = _prepare(app, company_id, SIGN_OFF)
        counts = _push_all(app, company)
        again = _push_all(app, company)  # the next run: nothing is attached twice
        invoice = _invoice_of(app, work_order_id)
        names = app.ledger_for(company).attachment_names(invoice)
        stats = _evidence_stats(app, company)

    assert sorted(name.split("-")[0] for name in names) == ["after", "before", "signature"]
    assert counts.files_attached == 3 and again.files_attached == 0
    assert stats["by_invoice"] == {invoice.lower(): names} if company_id == "harbour" else {invoice: names}


def test_an_attachment_sent_just_before_a_crash_is_found_in_the_ledger_and_not_attached_again(workspace,
                                                                                              monkeypatch):
    monkeypatch.setattr(push_evidence, "RETRY_DELAY", timedelta(0))  # "the next run" comes at once
    with _open(workspace) as app:
        company = app.config.company("harbour")
        work_order_id = _prepare(app, "harbour", SIGN_OFF)
        _push_invoices_only(app, company)
        invoice = _invoice_of(app, work_order_id)
        ledger = app.ledger_for(company)
        with app.store.unit_of_work() as uow:  # a worker claims the evidence, sends the signature, and dies
            claimed = uow.push_evidence.claim(company="harbour", ledger="xero")
            uow.commit()
        signature = next(item for item in claimed if item.kind == "signature")
        ledger.attach_file(invoice, file_name=signature.target, content_type=signature.media_type,
                           data=attachment_path(app.home, signature.item).read_bytes())
        with app.store.unit_of_work() as uow:  # ten minutes later its claims are released
            uow.push_evidence.release_stale(timedelta(0), ledger="xero")
            uow.commit()

        counts = _push_all(app, company)
        stats = _evidence_stats(app, company)
        names = ledger.attachment_names(invoice)

    assert sorted(name.split("-")[0] for name in names) == ["after", "before", "signature"]
    assert counts.files_attached == 3  # the signature counts as done because it was found there
    assert sum(len(files) for files in stats["by_invoice"].values()) == 3


def test_a_file_over_the_ledgers_size_limit_opens_a_case_and_the_other_files_are_still_attached(workspace):
    with _open(workspace) as app:
        company = app.config.company("harbour")
        limit = app.ledger_for(company).max_attachment_bytes
        huge = Attachment(content_hash=hashlib.sha256(b"huge").hexdigest(), file_name="site-video.jpg",
                          kind=AttachmentKind.photo, media_type="image/jpeg", size_bytes=limit + 1)
        work_order_id = _prepare(app, "harbour", SIGN_OFF + [(huge, b"")])
        with attachment_path(app.home, huge.content_hash).open("r+b") as handle:
            handle.truncate(limit + 1)  # sparse: over the limit without writing 10 MB
        counts = _push_all(app, company)
        names = app.ledger_for(company).attachment_names(_invoice_of(app, work_order_id))
        cases = _cases(app, CaseKind.attachment_failed)

    assert len(names) == 3 and not any(name.startswith("site-video") for name in names)
    assert counts.files_attached == 3 and counts.cases_opened["attachment_failed"] == 1
    assert len(cases) == 1 and "site-video" in cases[0].summary and str(limit) in cases[0].summary


@pytest.mark.parametrize("company_id", ["northwind", "harbour"])
def test_send_to_customer_emails_each_new_invoice_once_through_the_ledger_and_records_it(workspace, company_id):
    with _open(workspace, send=True) as app:
        company = app.config.company(company_id)
        _prepare(app, company_id, SIGN_OFF[:1])
        first = _push_all(app, company)
        second = _push_all(app, company)
        stats = _evidence_stats(app, company)
        ledger = app.ledger_for(company)
        with app.store.unit_of_work() as uow:
            records = [r for r in uow.push_records.all() if r.company == company_id and r.ledger_id]
            emails = [i for r in records for i in uow.push_evidence.for_record(r.idempotency_key) if i.is_email]
        sent_in_ledger = [ledger.invoice_sent(r.ledger_id) for r in records]

    sent = [entry["invoice_id"] for entry in stats["emails_sent"]]
    assert len(sent) == len(set(sent)) == len(records) > 0
    assert first.invoices_emailed == len(records) and second.invoices_emailed == 0
    assert [(i.status, i.attempts) for i in emails] == [("done", 1)] * len(records)
    assert all(sent_in_ledger)


def test_an_invoice_to_send_whose_customer_has_no_email_becomes_a_case_and_the_others_are_sent(workspace):
    with _open(workspace, send=True) as app:
        company = app.config.company("harbour")
        work_order_id = _prepare(app, "harbour", SIGN_OFF[:1], clear_email=True)
        counts = _push_all(app, company)
        stats = _evidence_stats(app, company)
        invoice = _invoice_of(app, work_order_id)
        cases = _cases(app, CaseKind.invoice_send_failed)

    assert invoice and invoice.lower() not in [entry["invoice_id"] for entry in stats["emails_sent"]]
    assert counts.invoices_emailed == counts.pushed - 1 == len(stats["emails_sent"])
    assert len(cases) == 1 and cases[0].work_order_id == work_order_id and "no customer billing e-mail" in cases[0].summary


def test_a_failing_upload_is_retried_on_later_runs_without_repeating_the_invoice_then_becomes_a_case(
        workspace, monkeypatch):
    monkeypatch.setattr(push_evidence, "RETRY_DELAY", timedelta(0))  # each "run" comes at once
    with _open(workspace) as app:
        company = app.config.company("northwind")
        work_order_id = _prepare(app, "northwind", SIGN_OFF[:1])
        _push_invoices_only(app, company)
        invoices_before = len(list(app.ledger_for(company).list_invoices()))
        admin = f"{app.sandbox_url}/_sandbox/qbo/{company.ledger.realm_id}/faults"
        httpx.post(admin, json={"kind": "server_error", "count": 1000}, trust_env=False).raise_for_status()
        runs = [push_batch(app, company) for _ in range(FAILURES_BEFORE_CASE)]
        cases = _cases(app, CaseKind.attachment_failed)
        with app.store.unit_of_work() as uow:
            record = uow.push_records.for_work_order(work_order_id)[-1]
            items = uow.push_evidence.for_record(record.idempotency_key)

    assert [run.cases_opened["attachment_failed"] for run in runs] == [0] * (FAILURES_BEFORE_CASE - 1) + [1]
    assert [(i.status, i.attempts) for i in items] == [("failed", FAILURES_BEFORE_CASE)]
    assert len(cases) == 1 and "failed 3 times" in cases[0].summary
    assert all(run.pushed == 0 for run in runs) and invoices_before > 0


def test_a_failed_upload_waits_for_a_later_run_instead_of_spending_its_tries_in_this_one(workspace):
    with _open(workspace) as app:
        company = app.config.company("northwind")
        work_order_id = _prepare(app, "northwind", SIGN_OFF[:1])
        _push_invoices_only(app, company)
        admin = f"{app.sandbox_url}/_sandbox/qbo/{company.ledger.realm_id}/faults"
        httpx.post(admin, json={"kind": "server_error", "count": 1}, trust_env=False).raise_for_status()
        failed, right_after = push_batch(app, company), push_batch(app, company)
        with app.store.unit_of_work() as uow:
            record = uow.push_records.for_work_order(work_order_id)[-1]
            items = uow.push_evidence.for_record(record.idempotency_key)
        names = app.ledger_for(company).attachment_names(record.ledger_id)

    assert failed.files_attached == right_after.files_attached == 0 and names == []
    assert [(i.status, i.attempts) for i in items] == [("pending", 1)] and "500" in items[0].last_error
