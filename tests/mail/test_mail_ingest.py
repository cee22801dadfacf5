"""Mail intake end to end on a real Dovecot and a real store: nothing lost, nothing twice, every message placed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.mailbox_config import MailboxConfig
from services.mail.ingest import check_mailbox_health, import_mail, ingest_mailbox, merge_mail_evidence
from mail_factory import mail, work_order
from connectors.errors import AuthError, RetriableError
from connectors.imap_inbox import ImapInbox
from exceptions_queue.cases import CaseStatus
from workorders.anomalies import AnomalyCode
from workorders.rules import RuleSettings, evaluate

pytestmark = pytest.mark.usefixtures("imap_password")


def open_cases(app, kind):
    with app.store.unit_of_work() as uow:
        return uow.cases.list(kinds=(kind,), statuses=(CaseStatus.open,))


def stored(app):
    with app.store.unit_of_work() as uow:
        return uow.messages.list(company="acme")


def test_each_run_reads_only_new_mail_and_nothing_is_stored_twice(app, company, imap_admin, imap_mailbox, folder):
    imap_admin.multiappend(folder, [mail(1, "WO-1042 gauges"), mail(2, "Job #1043 filters")])
    first = ingest_mailbox(app, company, imap_mailbox(batch_size=1))
    imap_admin.multiappend(folder, [mail(3, "WO-1042 more")])
    second = ingest_mailbox(app, company, imap_mailbox())
    third = ingest_mailbox(app, company, imap_mailbox())
    assert (first.fetched, second.fetched, third.fetched) == (2, 1, 0)
    assert [m.message_id for m in stored(app)] == [f"<m{n}@van.acme.example>" for n in (1, 2, 3)]
    assert [m.job_number for m in stored(app)] == ["1042", "1043", "1042"]


def test_a_changed_uidvalidity_rescans_without_duplicates(app, company, imap_admin, imap_mailbox, folder):
    imap_admin.multiappend(folder, [mail(1, "WO-1042"), mail(2, "WO-1043")])
    ingest_mailbox(app, company, imap_mailbox())
    imap_admin.delete_folder(folder)
    imap_admin.create_folder(folder)
    imap_admin.multiappend(folder, [mail(1, "WO-1042"), mail(2, "WO-1043"), mail(3, "WO-1044")])
    again = ingest_mailbox(app, company, imap_mailbox())
    assert (again.fetched, again.duplicates, again.matched) == (3, 2, 1)
    assert len(stored(app)) == 3


def test_a_server_killed_mid_fetch_loses_and_repeats_nothing_after_it_comes_back(
        app, company, dovecot, imap_admin, imap_mailbox, folder):
    imap_admin.multiappend(folder, [mail(n, f"WO-1042 part {n}") for n in range(1, 7)])
    mailbox = imap_mailbox(batch_size=2)

    class DiesAfterTheFirstBatch(ImapInbox):
        def fetch_new(self, folder, cursor):
            for number, batch in enumerate(super().fetch_new(folder, cursor)):
                yield batch
                if number == 0:
                    dovecot.stop()  # SIGKILL the whole instance while batches are still to come

    box = DiesAfterTheFirstBatch("127.0.0.1", dovecot.imaps_port, "crew", "van-notes-42", ca_file=dovecot.ca_file,
                                 batch_size=2, read_timeout=5, connect_timeout=5)
    try:
        with pytest.raises(RetriableError):
            ingest_mailbox(app, company, mailbox, inbox=box)
        assert len(stored(app)) == 2
    finally:
        dovecot.start()
    resumed = ingest_mailbox(app, company, mailbox)
    assert (resumed.fetched, resumed.duplicates) == (4, 0)
    assert sorted(m.message_id for m in stored(app)) == sorted(f"<m{n}@van.acme.example>" for n in range(1, 7))


def test_a_refused_login_records_the_poll_opens_a_case_and_emits_an_event(app, company, imap_mailbox, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_IMAP_PASSWORD_FIELD_ACME", "wrong-password-123")
    events = []
    with pytest.raises(AuthError):
        ingest_mailbox(app, company, imap_mailbox(), emit=lambda **event: events.append(event))
    (case,) = open_cases(app, AnomalyCode.mailbox_stalled)
    assert case.subject == "mailbox:acme/field" and "login was refused" in case.summary
    assert "wrong-password-123" not in str(case.evidence) + case.summary
    assert events == [{"event": "closeout.mailbox.stalled",
                       "resource": {"prefect.resource.id": "closeout.mailbox.acme.field"},
                       "payload": {"company": "acme", "mailbox": "field", "why": "the login was refused"}}]
    monkeypatch.setenv("CLOSEOUT_IMAP_PASSWORD_FIELD_ACME", "van-notes-42")
    ingest_mailbox(app, company, imap_mailbox())
    assert open_cases(app, AnomalyCode.mailbox_stalled) == []


def test_a_mailbox_not_read_for_longer_than_configured_opens_a_case(app, company, imap_mailbox):
    mailbox = imap_mailbox(stall_after_minutes=30)
    ingest_mailbox(app, company, mailbox)
    with app.store.unit_of_work() as uow:
        last = uow.messages.last_poll(company="acme", mailbox="field", outcome="ok")
    events = []
    assert check_mailbox_health(app, company, mailbox, now=last + timedelta(minutes=29))
    assert not check_mailbox_health(app, company, mailbox, now=last + timedelta(minutes=31),
                                    emit=lambda **event: events.append(event))
    assert len(open_cases(app, AnomalyCode.mailbox_stalled)) == 1 and len(events) == 1


def test_replies_follow_their_thread_and_strangers_become_cases(app, company, imap_admin, imap_mailbox, folder):
    imap_admin.multiappend(folder, [
        mail(1, "WO-1042 compressor photos"),
        mail(2, "Re: photos", "Looks good", sender="facilities@harbor.example", reply_to="<m1@van.acme.example>"),
        mail(3, "Re: Re: photos", "One more", sender="dana@acme.example", reply_to="<m2@van.acme.example>"),
        mail(4, "Order confirmation SO-88213", sender="orders@supplier.example"),
        mail(5, "Thermostat question", sender="ops@prairie.example"),
    ])
    counts = ingest_mailbox(app, company, imap_mailbox())
    assert (counts.matched, counts.unmatched) == (3, 2)
    methods = {m.message_id: (m.job_number, m.method) for m in stored(app)}
    assert methods["<m2@van.acme.example>"] == ("1042", "thread")
    assert methods["<m3@van.acme.example>"] == ("1042", "thread")
    cases = {c.subject: c for c in open_cases(app, AnomalyCode.unmatched_email)}
    stranger = cases["mail:acme/<m4@van.acme.example>"]
    assert stranger.evidence["why"].startswith("no thread, no job number") and stranger.evidence["candidates"] == []
    ambiguous = cases["mail:acme/<m5@van.acme.example>"]
    assert {c["job_number"] for c in ambiguous.evidence["candidates"]} == {"1043", "1044"}
    assert "Candidates: 1043, 1044" in ambiguous.summary


def test_attachments_are_stored_by_hash_inside_the_workspace_and_the_cap_holds(app, company, imap_admin,
                                                                                imap_mailbox, folder):
    imap_admin.multiappend(folder, [mail(1, "WO-1042", attachments=(
        ("../../../etc/cron.d/evil", b"* * * * * root rm -rf /", "text/plain"),
        ("before-coil.jpg", b"\xff\xd8\xff\xe0jpeg", "image/jpeg"),
        ("huge.pdf", b"%PDF-" + b"0" * 300_000, "application/pdf")))])
    counts = ingest_mailbox(app, company, imap_mailbox(max_attachment_bytes=100_000))
    assert (counts.attachments_stored, counts.attachments_skipped) == (2, 1)
    files = sorted(p for p in (app.home / "attachments").rglob("*") if p.is_file())
    assert len(files) == 2 and all(p.parent.parent == app.home / "attachments" for p in files)
    assert not (app.home.parent / "etc").exists()
    with app.store.unit_of_work() as uow:
        (message,) = uow.messages.list(company="acme")
        rows = uow.messages.attachments(message.pk)
        order = uow.work_orders.get("csv:J1042")
    assert [(r["file_name"], r["kind"], bool(r["skipped"])) for r in rows] == [
        ("evil", "document", False), ("before-coil.jpg", "photo_before", False), ("huge.pdf", "document", True)]
    assert [a.file_name for a in order.attachments] == ["evil", "before-coil.jpg"]


def test_non_utf8_and_html_only_mail_becomes_readable_notes(app, company, imap_admin, imap_mailbox, folder):
    legacy = (b"From: Sam <dana@acme.example>\r\nSubject: =?iso-8859-1?q?WO-1043_caf=E9?=\r\n"
              b"Message-ID: <legacy@x>\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n"
              + "Caf\u00e9 hood \u2013 belt worn".encode("cp1252"))
    imap_admin.multiappend(folder, [legacy, mail(2, "WO-1042", "<p>Coil <b>cleaned</b></p><script>x()</script>",
                                                 html=True)])
    ingest_mailbox(app, company, imap_mailbox())
    with app.store.unit_of_work() as uow:
        assert uow.work_orders.get("csv:J1043").notes[0].text == "Café hood – belt worn"
        assert uow.work_orders.get("csv:J1042").notes[0].text == "Coil cleaned"


def test_a_sign_off_reply_makes_a_new_version_that_passes_the_rule_and_a_re_pull_keeps_it(
        app, company, imap_admin, imap_mailbox, folder):
    imap_admin.multiappend(folder, [mail(1, "Re: WO-1042 done", "We approve the work. Signed off.",
                                         sender="Pat <facilities@harbor.example>")])
    counts = ingest_mailbox(app, company, imap_mailbox())
    assert counts.versions == 1
    with app.store.unit_of_work() as uow:
        order = uow.work_orders.get("csv:J1042")
        again = uow.work_orders.save(merge_mail_evidence(uow, work_order("1042", email="facilities@harbor.example")))
        uow.commit()
    assert order.version == 2 and order.approvals[0].approved_by == "Pat"
    assert not again.changed  # the source's copy of the job, plus the mail evidence, is the same version
    decisions = {d.rule_id: d.outcome for d in evaluate(order, RuleSettings(), run_id="t").decisions}
    assert decisions["sign_off_required"] == "pass"


def test_a_maildir_folder_and_an_mbox_file_are_imported_with_the_same_matching(app, tmp_path):
    maildir = tmp_path / "export" / "new"
    maildir.mkdir(parents=True)
    (maildir / "1.eml").write_bytes(mail(1, "WO-1042 from the export"))
    mbox = tmp_path / "export.mbox"
    mbox.write_bytes(b"From dana@acme.example Mon Nov  2 15:00:00 2026\n" + mail(2, "Job #1043").replace(b"\r\n", b"\n")
                     + b"\nFrom x@y Mon Nov  2 15:00:00 2026\n" + mail(3, "no job", sender="x@y.example")
                     .replace(b"\r\n", b"\n"))
    first = import_mail(app, tmp_path / "export")
    second = import_mail(app, mbox)
    again = import_mail(app, tmp_path / "export")
    assert (first.matched, second.matched, second.unmatched, again.duplicates) == (1, 1, 1, 1)


def test_text_before_an_mboxs_first_from_line_is_kept_and_accounted_for_not_dropped(app, tmp_path):
    preamble = b"Forwarded from the old system, separator lost:\nSubject: WO-1042 sign-off\n\nSigned, Dana\n\n"
    mbox = tmp_path / "export.mbox"
    mbox.write_bytes(preamble + b"From dana@acme.example Mon Nov  2 15:00:00 2026\n"
                     + mail(2, "Job #1043").replace(b"\r\n", b"\n"))
    counts = import_mail(app, mbox)
    assert counts.fetched == 2 and counts.matched == 1
    with app.store.unit_of_work() as uow:
        kept = [m for m in uow.messages.list() if m.work_order_id is None]
    assert len(kept) == 1 and kept[0].status != "matched"  # stored and shown, for a person to place
    assert import_mail(app, mbox).duplicates == 2  # and read once only


def test_a_path_that_is_no_mailbox_is_a_clear_error(app, tmp_path):
    with pytest.raises(Exception, match="neither a Maildir folder"):
        import_mail(app, tmp_path)


def test_an_unparseable_message_becomes_a_case_with_the_raw_message_kept(app, company, tmp_path):
    maildir = tmp_path / "box" / "cur"
    maildir.mkdir(parents=True)
    (maildir / "junk").write_bytes(b"\x00\x01 this is not mail at all")
    counts = import_mail(app, tmp_path / "box")
    (case,) = open_cases(app, AnomalyCode.source_payload_invalid)
    assert counts.unparseable == 1
    with open(case.evidence["raw_message"], "rb") as raw:
        assert raw.read() == b"\x00\x01 this is not mail at all"


def test_plaintext_is_never_the_default():
    assert MailboxConfig(kind="imap", name="x", host="h", username="u").security == "ssl"
