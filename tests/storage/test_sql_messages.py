"""The mail repository on SQLite and PostgreSQL: dedupe, thread lookups, evidence per work order, poll history."""

from __future__ import annotations


import pytest
import sqlalchemy as sa


def add(uow, number: int, *, content_hash: str = "h", company: str = "acme") -> int:
    return uow.messages.add(company=company, mailbox="field", folder="INBOX", uid_validity=7, uid=number,
                            message_id=f"<m{number}@x>", content_hash=content_hash, subject=f"WO-{number}",
                            from_address="dana@acme.example", sent_at=None, status="matched", raw_path="/r",
                            problems=["StartBoundaryNotFoundDefect"])


def test_a_message_is_stored_once_per_message_id_and_content(store):
    with store.unit_of_work() as uow:
        first = add(uow, 1)
        assert uow.messages.find(company="acme", message_id="<m1@x>", content_hash="h") == first
        assert uow.messages.find(company="acme", message_id="<m1@x>", content_hash="other") is None
        add(uow, 1, content_hash="other")  # same Message-ID, different content: a different message
        uow.commit()
    with pytest.raises(sa.exc.IntegrityError), store.unit_of_work() as uow:
        add(uow, 1)
        uow.commit()


def test_matches_give_thread_hits_and_the_evidence_of_each_work_order_in_order(store):
    with store.unit_of_work() as uow:
        for number in (1, 2, 3):
            pk = add(uow, number)
            uow.messages.add_attachments(pk, [{"content_hash": "a" * 64, "file_name": "before.jpg",
                                               "media_type": "image/jpeg", "size_bytes": 3, "kind": "photo_before",
                                               "skipped": ""}])
            if number != 3:
                uow.messages.add_match(pk, work_order_id="csv:J1", job_number="1", method="job_number",
                                       confidence=0.9, explanation="the subject names job 1",
                                       evidence={"notes": [{"n": number}]})
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.messages.thread_hits(company="acme", message_ids=["<m2@x>", "<m3@x>", "<m9@x>"]) == {
            "<m2@x>": ("csv:J1", "1")}
        assert uow.messages.evidence_for("csv:J1") == [{"notes": [{"n": 1}]}, {"notes": [{"n": 2}]}]
        listed = uow.messages.list(company="acme")
        assert [(m.job_number, m.method) for m in listed] == [("1", "job_number"), ("1", "job_number"), ("", "")]
        assert uow.messages.attachments(listed[0].pk)[0]["file_name"] == "before.jpg"


def test_the_poll_history_answers_when_a_mailbox_was_last_read(store, clock):
    with store.unit_of_work() as uow:
        uow.messages.record_poll(company="acme", mailbox="field", outcome="ok", fetched=3)
        first = uow.messages.last_poll(company="acme", mailbox="field")
        uow.commit()
    clock.advance(minutes=5)
    with store.unit_of_work() as uow:
        uow.messages.record_poll(company="acme", mailbox="field", outcome="auth_failed", detail="login refused")
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.messages.last_poll(company="acme", mailbox="field", outcome="ok") == first
        assert uow.messages.first_poll(company="acme", mailbox="field") == first
        assert uow.messages.last_poll(company="acme", mailbox="other") is None


def test_a_batch_of_messages_is_stored_in_order_with_its_attachments_and_matches(store):
    rows = [dict(company="acme", mailbox="field", folder="INBOX", uid_validity=7, uid=n, message_id=f"<b{n}@x>",
                 content_hash=f"h{n}", subject=f"WO-{n}", from_address="dana@acme.example", sent_at=None,
                 status="matched", raw_path=f"/r{n}", problems=[]) for n in (1, 2, 3)]
    with store.unit_of_work() as uow:
        pks = uow.messages.add_many(rows)
        uow.messages.add_attachments_many([(pks[2], [{"content_hash": "a" * 64, "file_name": "after.jpg",
                                                      "media_type": "image/jpeg", "size_bytes": 3,
                                                      "kind": "photo_after", "skipped": ""}])])
        uow.messages.add_matches([(pks[n], dict(work_order_id="csv:J1", job_number="1", method="job_number",
                                                confidence=0.9, explanation="the subject names job 1",
                                                evidence={"notes": [{"n": n}]})) for n in (0, 2)])
        uow.commit()
    with store.unit_of_work() as uow:
        listed = uow.messages.list(company="acme")
        assert [m.pk for m in listed] == pks and [m.message_id for m in listed] == ["<b1@x>", "<b2@x>", "<b3@x>"]
        assert [m.method for m in listed] == ["job_number", "", "job_number"]
        assert uow.messages.attachments(pks[2])[0]["file_name"] == "after.jpg"
        assert uow.messages.evidence_for("csv:J1") == [{"notes": [{"n": 0}]}, {"notes": [{"n": 2}]}]
        assert uow.messages.add_many([]) == []
