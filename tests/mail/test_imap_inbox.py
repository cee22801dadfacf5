"""ImapInbox against a real private Dovecot: TLS, errors typed at the boundary, read-only incremental reads."""

from __future__ import annotations

import os
import signal

import pytest

from mail_factory import mail
from connectors.errors import AuthError, FatalError, RetriableError
from connectors.imap_inbox import ImapInbox, MailCursor
from dovecot_server import PASSWORD, USER


def inbox(dovecot, *, port=None, security="ssl", password=PASSWORD, ca=True, **kwargs) -> ImapInbox:
    port = port or (dovecot.imaps_port if security == "ssl" else dovecot.imap_port)
    return ImapInbox("127.0.0.1", port, USER, password, security=security, ca_file=dovecot.ca_file if ca else None,
                     connect_timeout=5, read_timeout=5, **kwargs)


def read_all(box: ImapInbox, folder: str, cursor=None):
    batches = list(box.fetch_new(folder, cursor))
    return [uid for batch in batches for uid, _ in batch.messages], (batches[-1].cursor if batches else cursor)


@pytest.mark.parametrize("security", ["ssl", "starttls", "plaintext"])
def test_messages_are_read_over_imaps_starttls_or_explicit_plaintext(dovecot, imap_admin, folder, security):
    imap_admin.multiappend(folder, [mail(1, "WO-1042"), mail(2, "WO-1043")])
    with inbox(dovecot, security=security) as box:
        batches = list(box.fetch_new(folder, None))
    raws = [raw for batch in batches for _, raw in batch.messages]
    assert [b"WO-1042" in raws[0], b"WO-1043" in raws[1]] == [True, True]


def test_a_server_certificate_from_an_unknown_authority_is_refused(dovecot):
    with pytest.raises(FatalError, match="does not verify"):
        inbox(dovecot, ca=False).connect()


def test_a_wrong_password_is_an_auth_error_that_never_shows_the_password(dovecot):
    with pytest.raises(AuthError) as caught:
        inbox(dovecot, password="not-the-password-xyz").connect()
    assert "not-the-password-xyz" not in str(caught.value) and USER in str(caught.value)


def test_a_closed_port_is_retriable(dovecot):
    with pytest.raises(RetriableError):
        inbox(dovecot, port=1, security="plaintext").connect()


def test_a_server_that_stops_answering_hits_the_read_timeout_as_a_retriable_error(dovecot, imap_admin, folder):
    imap_admin.multiappend(folder, [mail(1, "WO-1042")])
    box = ImapInbox("127.0.0.1", dovecot.imaps_port, USER, PASSWORD, ca_file=dovecot.ca_file, read_timeout=1)
    box.connect()
    mine = dovecot.session_pids()
    for pid in mine:
        os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(RetriableError, match="TimeoutError"):
            list(box.fetch_new(folder, None))
    finally:
        for pid in mine:
            os.kill(pid, signal.SIGCONT)
        box.close()
    assert mine


def test_reading_never_sets_flags_and_a_poll_with_nothing_new_costs_two_commands(dovecot, imap_admin, folder):
    imap_admin.multiappend(folder, [mail(n, f"WO-{n}") for n in range(1, 6)])
    with inbox(dovecot, batch_size=2) as box:
        uids, cursor = read_all(box, folder)
    assert len(uids) == 5 and cursor.last_uid == max(uids)
    imap_admin.select_folder(folder, readonly=True)
    flags = [set(item[b"FLAGS"]) - {b"\\Recent"} for item in imap_admin.fetch(uids, ["FLAGS"]).values()]
    assert flags == [set()] * 5  # no \Seen: BODY.PEEK on a read-only EXAMINE
    for _ in range(2):
        with inbox(dovecot) as idle:
            assert read_all(idle, folder, cursor)[0] == []
            assert idle.commands == 2  # LOGIN and EXAMINE, however many messages the folder holds


def test_only_messages_after_the_cursor_are_fetched(dovecot, imap_admin, folder):
    imap_admin.multiappend(folder, [mail(1, "one"), mail(2, "two")])
    with inbox(dovecot) as box:
        first, cursor = read_all(box, folder)
    imap_admin.multiappend(folder, [mail(3, "three")])
    with inbox(dovecot) as box:
        second, _ = read_all(box, folder, cursor)
    assert len(first) == 2 and second == [max(first) + 1]


def test_a_new_uidvalidity_makes_the_folder_read_again_from_the_start(dovecot, imap_admin, folder):
    imap_admin.multiappend(folder, [mail(1, "one")])
    with inbox(dovecot) as box:
        _, cursor = read_all(box, folder)
    imap_admin.delete_folder(folder)
    imap_admin.create_folder(folder)
    imap_admin.multiappend(folder, [mail(1, "one"), mail(2, "two")])
    with inbox(dovecot) as box:
        batches = list(box.fetch_new(folder, cursor))
    assert all(batch.rescan for batch in batches)
    assert batches[-1].cursor.uid_validity != cursor.uid_validity
    assert sum(len(batch.messages) for batch in batches) == 2


def test_processed_messages_are_moved_only_when_asked(dovecot, imap_admin, folder):
    imap_admin.multiappend(folder, [mail(1, "one"), mail(2, "two")])
    with inbox(dovecot) as box:
        uids, _ = read_all(box, folder)
        box.move_processed(folder, uids, f"{folder}-done")
    assert imap_admin.folder_status(folder, ["MESSAGES"])[b"MESSAGES"] == 0
    assert imap_admin.folder_status(f"{folder}-done", ["MESSAGES"])[b"MESSAGES"] == 2


def test_the_cursor_survives_its_text_form():
    assert MailCursor.decode(MailCursor(7, 42).encode()) == MailCursor(7, 42) and MailCursor.decode(None) is None
