"""Parsing a batch ahead of storing it: the worker processes give what ``parse_message`` gives, and keep the files."""

from __future__ import annotations

from mail_factory import mail, work_order
from services.mail.files import message_files
from mappings.mail_index import OrderIndex
from services.mail.parsing import BatchParser
from mappings.mail_match import DEFAULT_JOB_PATTERNS, match_message
from mappings.mail_parse import parse_message

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


def batch(count: int) -> list[bytes]:
    return [mail(n, f"WO-{1042 + n % 3} note", attachments=(("before.jpg", PHOTO + bytes([n]), "image/jpeg"),)
                 if n % 4 == 0 else ()) for n in range(count)]


def test_a_big_batch_parsed_by_the_workers_equals_parsing_each_message_and_its_files_are_kept(tmp_path):
    raws = batch(50)
    with BatchParser(10**6, tmp_path, min_batch=40) as parser:
        parsing = parser.start(raws)
        messages = parsing.result()
    assert parsing.kept
    assert messages == [parse_message(raw, max_attachment_bytes=10**6) for raw in raws]
    files = [item for raw, message in zip(raws, messages) for item in message_files(tmp_path, message, raw)]
    assert len(files) == 50 + 13
    assert all(path.read_bytes() == content for path, content in files)
    assert not list(tmp_path.rglob("*.partial"))


def test_a_small_batch_is_parsed_in_process_and_leaves_the_files_to_the_caller(tmp_path):
    raws = batch(5)
    with BatchParser(10**6, tmp_path, min_batch=40) as parser:
        parsing = parser.start(raws)
        assert parsing.result() == [parse_message(raw, max_attachment_bytes=10**6) for raw in raws]
    assert not parsing.kept and not list(tmp_path.rglob("*"))


def test_the_index_offers_the_sender_s_jobs_only_when_no_thread_or_job_number_decides_with_the_same_answer():
    orders = [work_order(str(1040 + n), email=f"c{n % 4}@customer.example") for n in range(12)]
    index = OrderIndex(orders)
    messages = [parse_message(raw, max_attachment_bytes=10**6) for raw in (
        mail(1, "WO-1042 note"),  # the technician is on every job: the number decides
        mail(2, "Question", "About job # 1045 and job # 1046"),  # two jobs named: a person decides
        mail(3, "Question", "Anything?", sender="c1@customer.example"),  # the sender is on three jobs
        mail(4, "Question", "Anything?", sender="c9@customer.example"),  # nobody knows the sender
        mail(5, "WO-9999 note"))]  # a number no job has: the sender (the technician) is on all twelve
    for message in messages:
        narrow = index.candidates(message, DEFAULT_JOB_PATTERNS, {})
        assert match_message(message, narrow, patterns=DEFAULT_JOB_PATTERNS, thread={}) == \
            match_message(message, orders, patterns=DEFAULT_JOB_PATTERNS, thread={})
    assert len(index.candidates(messages[0], DEFAULT_JOB_PATTERNS, {})) == 1
