"""Matching and evidence are pure: threads, job numbers, senders; notes, photos, sign-offs, change requests."""

from __future__ import annotations

from mail_factory import T0, mail, work_order
from mappings.mail_evidence import evidence_from, with_evidence
from mappings.mail_match import DEFAULT_JOB_PATTERNS, ThreadHit, find_job_numbers, match_message
from mappings.mail_parse import parse_message
from workorders.rules import RuleSettings, evaluate
from workorders.work_order import AttachmentKind

ORDERS = [work_order("1042", email="facilities@harbor.example"), work_order("1043", email="ops@prairie.example"),
          work_order("1044", email="ops@prairie.example")]


def parsed(*args, **kwargs):
    return parse_message(mail(*args, **kwargs), max_attachment_bytes=10**6)


def match(message, thread=None):
    return match_message(message, ORDERS, patterns=DEFAULT_JOB_PATTERNS, thread=thread or {})


def test_job_numbers_are_found_in_the_configured_shapes():
    assert find_job_numbers("WO-1042 and Job #1043, job no. 1044, WO1045", DEFAULT_JOB_PATTERNS) == [
        "1042", "1045", "1043", "1044"]
    assert find_job_numbers("Ticket T-77", [r"\bT-(\d+)\b"]) == ["77"]


def test_a_job_number_in_the_subject_places_the_message_and_says_why():
    result = match(parsed(1, "Re: WO-1042 compressor"))
    assert result.work_order_id == "csv:J1042" and result.method == "job_number"
    assert result.explanation == "the subject names job 1042; the sender is the job's technician"


def test_a_reply_without_a_job_number_follows_its_thread():
    hit = ThreadHit("<m1@van.acme.example>", "csv:J1042", "1042")
    result = match(parsed(2, "Re: photos", sender="facilities@harbor.example", reply_to="<m1@van.acme.example>"),
                   {"<m1@van.acme.example>": hit})
    assert (result.work_order_id, result.method) == ("csv:J1042", "thread")
    assert result.explanation == "reply in thread started by message <m1@van.acme.example>, which named job 1042"
    assert result.sender_role == "customer"


def test_a_sender_with_several_jobs_and_no_job_number_is_ambiguous_and_lists_the_candidates():
    result = match(parsed(3, "Thermostat question", sender="ops@prairie.example"))
    assert not result.matched and result.method == "ambiguous"
    assert set(result.candidates) == {"csv:J1043", "csv:J1044"}


def test_a_sender_with_one_job_is_matched_with_low_confidence():
    result = match(parsed(4, "Thanks!", sender="facilities@harbor.example"))
    assert result.work_order_id == "csv:J1042" and result.method == "sender" and result.confidence < 0.7


def test_a_stranger_with_no_job_number_is_unmatched():
    result = match(parsed(5, "Order confirmation SO-88213", sender="orders@supplier.example"))
    assert not result.matched and result.method == "unmatched" and result.candidates == ()


def test_a_customer_sign_off_with_a_signature_unblocks_the_sign_off_rule():
    order = ORDERS[0]
    assert evaluate(order, RuleSettings(), run_id="t").verdict == "blocked"
    message = parsed(6, "WO-1042 done", "I approve the work, signed off.", sender="facilities@harbor.example",
                     attachments=(("signature.png", b"\x89PNG\r\n\x1a\nrest", "image/png"),))
    evidence = evidence_from(message, match(message), order, received_at=T0)
    assert [a.kind for a in evidence.attachments] == [AttachmentKind.signature]
    assert evidence.approvals[0].kind == "sign_off" and evidence.approvals[0].reference == "mail:<m6@van.acme.example>"
    decisions = {d.rule_id: d for d in evaluate(with_evidence(order, [evidence]), RuleSettings(), run_id="t").decisions}
    assert decisions["sign_off_required"].outcome == "pass"


def test_only_the_customer_can_sign_off_and_photos_are_sorted_into_before_and_after():
    message = parsed(7, "WO-1042 photos", "Customer approved the work verbally.",
                     attachments=(("before-coil.jpg", b"\xff\xd8\xff1", "image/jpeg"),
                                  ("IMG_after.jpg", b"\xff\xd8\xff2", "image/jpeg"),
                                  ("IMG_0003.jpg", b"\xff\xd8\xff3", "image/jpeg")))
    evidence = evidence_from(message, match(message), ORDERS[0], received_at=T0)
    assert evidence.approvals == ()
    assert [a.kind for a in evidence.attachments] == [AttachmentKind.photo_before, AttachmentKind.photo_after,
                                                      AttachmentKind.photo]
    assert evidence.notes[0].author == "Dana Ruiz" and evidence.notes[0].text == "Customer approved the work verbally."


def test_a_request_for_extra_work_becomes_a_change_request_and_quoted_text_is_not_the_note():
    message = parsed(8, "Job #1042", "Could you also check the cooler gasket?\n\nOn Mon, Dana wrote:\n> old text",
                     sender="facilities@harbor.example")
    evidence = evidence_from(message, match(message), ORDERS[0], received_at=T0)
    assert evidence.notes[0].text == "Could you also check the cooler gasket?"
    assert evidence.change_requests[0].description == "Could you also check the cooler gasket?"


def test_merging_the_same_evidence_twice_changes_nothing():
    message = parsed(9, "WO-1042", "note")
    evidence = evidence_from(message, match(message), ORDERS[0], received_at=T0)
    once = with_evidence(ORDERS[0], [evidence])
    assert with_evidence(once, [evidence]) == once and len(once.notes) == 1
