"""The campaign's forged evidence aims at jobs only a counted sign-off could release, and says what it forges."""

from __future__ import annotations

import random
from email import message_from_bytes

from mappings.mail_parse import parse_message
from mappings.mail_provenance import read_verdict
from reliability.hostile_inputs import (FORGED, RECEIVING_SERVER, ForgedOutcome, forged_targets, hostile_messages,
                                        sign_off_blocked_jobs)
from reliability.workload import FIRST_CSV_JOB, csv_rows


def test_the_forged_evidence_aims_at_completed_unsigned_jobs_of_the_csv_drop_each_its_own():
    targets = forged_targets(100, seed=11)
    rng = random.Random(11)
    rows = {FIRST_CSV_JOB + n: csv_rows(n, rng) for n in range(100)}

    assert sorted(targets) == sorted(FORGED) and len(set(targets.values())) == 2
    for job in targets.values():
        labour, part = rows[job]
        assert (labour["status"], labour["signed_by"], part["quantity"].isdigit()) == ("completed", "", True)
    assert set(sign_off_blocked_jobs(100, seed=11)) == {job for job, (labour, part) in rows.items()
                                                        if labour["status"] == "completed" and not labour["signed_by"]
                                                        and part["quantity"].isdigit()}


def test_the_strangers_photo_is_a_tiny_png_named_signature_under_the_jobs_wo_number():
    job = forged_targets(100, seed=11)["forged_stranger_signature_photo"]
    message = message_from_bytes(hostile_messages(100, seed=11)["forged_stranger_signature_photo"])

    assert message["From"].endswith("<random.stranger@elsewhere.example>")
    assert message["Subject"] == f"WO-{job} photo"
    (image,) = [part for part in message.walk() if part.get_filename()]
    assert (image.get_filename(), image.get_content_type()) == ("signature.png", "image/png")
    assert image.get_payload(decode=True).startswith(b"\x89PNG\r\n\x1a\n")


def test_the_forged_sign_off_wears_the_customers_from_and_its_trusted_server_says_it_failed():
    job = forged_targets(100, seed=11)["forged_sender_failing_authentication"]
    raw = hostile_messages(100, seed=11)["forged_sender_failing_authentication"]
    parsed = parse_message(raw, max_attachment_bytes=1_000_000)

    customer = csv_rows(job - FIRST_CSV_JOB, random.Random(0))[0]["customer_email"]
    assert parsed.from_address == customer
    assert "We approve the work. Signed off." in raw.decode()
    verdict = read_verdict(parsed.authentication_results, trusted=[RECEIVING_SERVER], from_domain="q.example")
    assert (verdict.verdict, verdict.detail) == ("fail", "spf=fail dkim=none dmarc=fail")


def test_a_forged_message_that_released_its_job_or_went_missing_is_a_problem_of_the_campaign():
    held = ForgedOutcome("forged_stranger_signature_photo", 10015, stored=1, placed_on="csv:Q10015",
                         standings=("sender_not_entitled",), invoiced=False, sign_off_blocks=True, open_case=True)
    released = ForgedOutcome("forged_sender_failing_authentication", 10023, stored=1, placed_on="csv:Q10023",
                             standings=("counts",), invoiced=True, sign_off_blocks=False, open_case=False)
    lost = ForgedOutcome("forged_stranger_signature_photo", 10015, stored=0, placed_on=None, standings=(),
                         invoiced=False, sign_off_blocks=True, open_case=False)

    assert held.problems() == []
    assert [problem.split(":")[0] for problem in released.problems()] == [
        "forged_sender_failing_authentication released job 10023"]
    assert lost.problems() == ["forged_stranger_signature_photo for job 10015 is not accounted for: 0 row(s), "
                               "placed on None, open case False"]
