"""Hostile mail through a Maildir and a real Dovecot: each message is attached or a case, and the process survives."""

from __future__ import annotations

import mailbox as stdlib_mailbox
from pathlib import Path

import pytest

from services.mail.ingest import import_mail, ingest_mailbox
from exceptions_queue.cases import CaseStatus
from hostile_mail import hostile_corpus
from mappings.mail_parse import parse_message

pytestmark = pytest.mark.usefixtures("imap_password")
CORPUS = hostile_corpus()


def _placed(app) -> dict[str, str]:
    """content hash or message id -> "attached:<job>" or "case:<kind>" for every stored message."""
    with app.store.unit_of_work() as uow:
        messages = uow.messages.list(company="acme")
        cases = uow.cases.list(statuses=tuple(CaseStatus))
    by_subject = {case.subject: case.kind.value for case in cases}
    placed = {}
    for message in messages:
        if message.work_order_id:
            placed[message.message_id] = f"attached:{message.job_number}"
            continue
        kind = by_subject.get(f"mail:acme/{message.message_id}") or by_subject.get(f"mail:acme/{Path(message.raw_path).stem}")
        placed[message.message_id] = f"case:{kind}" if kind else "LOST"
    return placed


def _assert_every_message_attached_or_queued(app, expected: int) -> None:
    placed = _placed(app)
    assert len(placed) == expected, "every delivered message is stored once"
    assert "LOST" not in placed.values(), placed
    for name in CORPUS:
        message_id = f"<hostile{list(CORPUS).index(name) + 1}@van.acme.example>"
        if name.endswith("_1042") and message_id in placed:
            assert placed[message_id] == "attached:1042", (name, placed[message_id])


def _attachment_files(home: Path) -> list[Path]:
    return [p for p in (home / "attachments").rglob("*") if p.is_file()] if (home / "attachments").exists() else []


def test_every_hostile_message_in_a_maildir_is_attached_or_queued_and_nothing_escapes_the_workspace(app, tmp_path):
    box = stdlib_mailbox.Maildir(tmp_path / "export", create=True)
    for raw in CORPUS.values():
        box.add(raw)
    counts = import_mail(app, tmp_path / "export")
    assert counts.fetched == len(CORPUS)
    _assert_every_message_attached_or_queued(app, expected=len(CORPUS))
    home = app.home.resolve()
    for path in _attachment_files(app.home):
        assert path.resolve().is_relative_to(home / "attachments")
    assert not (tmp_path / "etc").exists() and not Path("/absolute").exists()
    with app.store.unit_of_work() as uow:
        stored = {m.message_id: m for m in uow.messages.list(company="acme")}
        names = [a["file_name"] for m in stored.values() for a in uow.messages.attachments(m.pk)]
    assert names and all("/" not in n and "\\" not in n and "\x00" not in n and not n.startswith(".") for n in names)
    # The zip is kept as received (64 KiB), never unpacked (64 MiB).
    assert all(p.stat().st_size < 10 << 20 for p in _attachment_files(app.home))


def test_html_mail_keeps_no_script_and_no_remote_image_in_the_text_a_coordinator_reads(app, tmp_path):
    box = stdlib_mailbox.Maildir(tmp_path / "export", create=True)
    box.add(CORPUS["html_script_and_remote_images_1042"])
    import_mail(app, tmp_path / "export")
    with app.store.unit_of_work() as uow:
        order = uow.work_orders.get("csv:J1042")
    notes = " ".join(note.text for note in order.notes)
    assert "Unit serviced." in notes
    for dangerous in ("<script", "document.cookie", "onclick", "tracker.example", "javascript:"):
        assert dangerous not in notes


def test_every_hostile_message_dovecot_accepts_is_attached_or_queued_after_an_imap_poll(
        app, company, imap_admin, imap_mailbox, folder):
    accepted = 0
    for raw in CORPUS.values():
        try:
            imap_admin.append(folder, raw)
            accepted += 1
        except Exception:  # noqa: BLE001 - Dovecot refuses some (NUL bytes, empty): they never reach Closeout
            pass
    assert accepted >= len(CORPUS) - 3, "Dovecot should take nearly all of the corpus"
    counts = ingest_mailbox(app, company, imap_mailbox(batch_size=5))
    again = ingest_mailbox(app, company, imap_mailbox(batch_size=5))
    assert (counts.fetched, again.fetched) == (accepted, 0)
    _assert_every_message_attached_or_queued(app, expected=accepted)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_field_of_a_hostile_message_fits_the_column_that_stores_it(name):
    # SQLite ignores VARCHAR lengths; PostgreSQL refuses the whole insert, which would stop the mailbox.
    message = parse_message(CORPUS[name], max_attachment_bytes=10 << 20)
    assert len(message.message_id) <= 500 and len(message.from_address) <= 320
    assert len(f"mail:acme/{message.message_id}") <= 500
    for attachment in message.attachments:
        assert len(attachment.file_name) <= 255 and len(attachment.media_type) <= 128
