"""Mail memory follows limits, not the input: a per-message size cap and batches bounded by bytes, on a real
Dovecot and on Maildir and mbox exports, each limit tested at its edge."""

from __future__ import annotations

import pytest

from mail_factory import mail
from services.audit_mail import audit_mail
from services.mail.ingest import import_mail, ingest_mailbox
from services.mailbox_config import MailboxConfig
from connectors.imap_inbox import ImapInbox
from connectors.maildir_inbox import MaildirInbox
from dovecot_server import PASSWORD, USER
from exceptions_queue.cases import CaseStatus
from workorders.anomalies import AnomalyCode

BODY_MARK = b"BODY-THAT-MUST-NOT-BE-READ"


def big(number: int, size: int, subject: str = "WO-1042 photos") -> bytes:
    """A message of exactly ``size`` bytes (CRLF, as IMAP stores it) whose body repeats BODY_MARK."""
    head = mail(number, subject, "x")
    filler = (BODY_MARK * (size // len(BODY_MARK) + 1))
    raw = head + filler
    return raw[:size - 2] + b"\r\n"


def imap(dovecot, **kwargs) -> ImapInbox:
    return ImapInbox("127.0.0.1", dovecot.imaps_port, USER, PASSWORD, ca_file=dovecot.ca_file, connect_timeout=5,
                     read_timeout=5, **kwargs)


def test_an_imap_message_over_the_cap_is_not_fetched_whole_and_one_at_the_cap_is(dovecot, imap_admin, folder):
    imap_admin.multiappend(folder, [big(1, 50_000), big(2, 50_001)])
    with imap(dovecot, max_message_bytes=50_000) as box:
        (batch,) = list(box.fetch_new(folder, None))
    (uid_at, at_cap), (uid_over, over) = batch.messages
    assert len(at_cap) == 50_000 and BODY_MARK in at_cap
    assert BODY_MARK not in over and b"Subject: WO-1042 photos" in over and len(over) < 2_000
    assert dict(batch.over_cap) == {uid_over: 50_001}


def test_imap_batches_are_bounded_by_bytes_and_every_message_still_arrives_once(dovecot, imap_admin, folder):
    imap_admin.multiappend(folder, [big(n, 30_000) for n in range(1, 8)])
    with imap(dovecot, batch_size=100, max_batch_bytes=100_000) as box:
        batches = list(box.fetch_new(folder, None))
    sizes = [sum(len(raw) for _, raw in batch.messages) for batch in batches]
    assert sizes == [90_000, 90_000, 30_000]
    uids = [uid for batch in batches for uid, _ in batch.messages]
    assert uids == sorted(set(uids)) and len(uids) == 7 and batches[-1].cursor.last_uid == uids[-1]


def test_one_message_bigger_than_the_batch_bound_is_a_batch_of_its_own(dovecot, imap_admin, folder):
    imap_admin.multiappend(folder, [big(1, 10_000), big(2, 120_000), big(3, 10_000)])
    with imap(dovecot, max_batch_bytes=100_000) as box:
        batches = list(box.fetch_new(folder, None))
    assert [len(batch.messages) for batch in batches] == [1, 1, 1]


def test_an_over_cap_message_is_kept_by_its_headers_queued_and_accounted_for(
        app, company, imap_admin, imap_mailbox, folder, imap_password):
    imap_admin.multiappend(folder, [big(1, 80_000), mail(2, "WO-1042 note")])
    mailbox = imap_mailbox(max_message_bytes=60_000)

    counts = ingest_mailbox(app, company, mailbox)
    again = ingest_mailbox(app, company, mailbox)

    assert (counts.fetched, counts.matched, counts.too_large) == (2, 1, 1)
    assert again.fetched == 0
    with app.store.unit_of_work() as uow:
        (case,) = uow.cases.list(kinds=(AnomalyCode.source_payload_invalid,), statuses=(CaseStatus.open,))
        report = audit_mail(uow, uow.cases.list(), app.home / "mail" / "raw")
        stored = {m.message_id: m for m in uow.messages.list(company="acme")}
    assert case.summary.startswith("A message in mailbox field is 80000 bytes, over max_message_bytes (60000)")
    assert case.evidence["subject"] == "WO-1042 photos" and case.evidence["size_bytes"] == 80_000
    with open(case.evidence["raw_message"], "rb") as kept:
        assert BODY_MARK not in kept.read()
    assert stored["<m1@van.acme.example>"].status == "too_large"
    assert report.ok and report.accounted == {"attached": 1, "case": 1}


def test_a_maildir_message_over_the_cap_is_read_by_its_headers_only(app, tmp_path):
    box = tmp_path / "export" / "new"
    box.mkdir(parents=True)
    (box / "1.eml").write_bytes(big(1, 40_000))
    (box / "2.eml").write_bytes(big(2, 40_001))
    inbox = MaildirInbox(tmp_path / "export", max_message_bytes=40_000)
    (batch,) = list(inbox.fetch_new("INBOX", None))
    (_, at_cap), (uid_over, over) = batch.messages
    assert len(at_cap) == 40_000 and BODY_MARK not in over and b"Message-ID: <m2@van.acme.example>" in over
    assert dict(batch.over_cap) == {uid_over: 40_001}


def test_an_mbox_message_over_the_cap_is_read_by_its_headers_only_and_batches_are_bounded(tmp_path):
    mbox = tmp_path / "export.mbox"
    parts = [big(n, size).replace(b"\r\n", b"\n") for n, size in ((1, 30_000), (2, 30_000), (3, 90_000))]
    parts.append(mail(4, "small").replace(b"\r\n", b"\n"))
    mbox.write_bytes(b"".join(b"From x@y Mon Nov  2 15:00:00 2026\n" + part + b"\n" for part in parts))
    inbox = MaildirInbox(mbox, max_message_bytes=60_000, max_batch_bytes=50_000)
    batches = list(inbox.fetch_new("INBOX", None))
    assert [len(batch.messages) for batch in batches] == [1, 3]  # the big one weighs its headers only
    _, (uid_over, over), _ = batches[1].messages
    assert BODY_MARK not in over and b"<m3@van.acme.example>" in over and dict(batches[1].over_cap)[uid_over] > 60_000
    assert sum(len(raw) for _, raw in batches[1].messages) <= 50_000


def test_an_import_applies_the_message_cap_and_queues_the_big_one(app, tmp_path):
    box = tmp_path / "export" / "new"
    box.mkdir(parents=True)
    (box / "1.eml").write_bytes(big(1, 70_000))
    app.config = app.config.model_copy(update={"companies": (app.config.company("acme").model_copy(update={
        "mailboxes": (MailboxConfig(kind="maildir", name="field", path=box.parent, max_message_bytes=60_000),)}),)})
    counts = import_mail(app, box.parent)
    assert (counts.fetched, counts.too_large, counts.matched) == (1, 1, 0)


def test_the_limits_are_mailbox_settings_with_defaults_and_bounds():
    box = MailboxConfig(kind="maildir", name="field", path="x")
    assert (box.max_message_bytes, box.max_batch_bytes) == (50_000_000, 64_000_000)
    with pytest.raises(ValueError):
        MailboxConfig(kind="maildir", name="field", path="x", max_message_bytes=0)
    with pytest.raises(ValueError):
        MailboxConfig(kind="maildir", name="field", path="x", max_batch_bytes=1_000)
