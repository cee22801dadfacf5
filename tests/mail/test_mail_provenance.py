"""Evidence has a provenance: a sign-off or photo from mail counts only from an entitled, authenticated sender.

Everything a message brings is kept and shown on its work order; what does not count says why, and the rule it
cannot satisfy repeats that reason in its decision.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mail_factory import T0, mail, work_order
from mappings.jobber import map_jobber_job
from mappings.mail_evidence import evidence_from, with_evidence
from mappings.mail_match import DEFAULT_JOB_PATTERNS, match_message
from mappings.mail_parse import parse_message
from mappings.mail_provenance import ProvenancePolicy, read_verdict
from services.mail.ingest import import_mail, ingest_mailbox
from services.mailbox_config import MailboxConfig
from services.prepare import prepare_batch
from services.push.evidence import plan_evidence
from workorders.drafts import InvoiceDraft
from workorders.rules import RuleSettings, evaluate
from workorders.work_order import Approval, Attachment, AttachmentKind, Customer, EvidenceStanding, JobType

PNG_MAGIC_AND_ZEROS = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
JPEG = b"\xff\xd8\xff\xe0jpeg"
FORGED_FAIL = ("Authentication-Results: mx.acme.example; spf=fail smtp.mailfrom=harbor.example; "
               "dkim=none; dmarc=fail (p=reject) header.from=harbor.example")


def with_headers(raw: bytes, *lines: str) -> bytes:
    """The message as the receiving server hands it on: its own trace headers on top."""
    return b"".join(line.encode() + b"\r\n" for line in lines) + raw


def save(app, *orders) -> None:
    with app.store.unit_of_work() as uow:
        for order in orders:
            uow.work_orders.save(order)
        uow.commit()


def latest(app, job):
    with app.store.unit_of_work() as uow:
        return next(o for o in uow.work_orders.latest(company="acme") if o.job_number == job)


def decision(app, job, rule_id):
    prepare_batch(app, run_id="provenance")
    order = latest(app, job)
    with app.store.unit_of_work() as uow:
        return next(d for d in uow.decisions.for_work_order(order.id, order.version) if d.rule_id == rule_id)


def import_one(app, tmp_path, raw: bytes):
    box = tmp_path / f"export{len(list(tmp_path.glob('export*')))}" / "new"
    box.mkdir(parents=True)
    (box / "1.eml").write_bytes(raw)
    return import_mail(app, box.parent)


def evidence(raw: bytes, order, policy=ProvenancePolicy()):
    message = parse_message(raw, max_attachment_bytes=10**6)
    found = match_message(message, [order], patterns=DEFAULT_JOB_PATTERNS, thread={})
    return evidence_from(message, found, order, received_at=T0, policy=policy)


# ---- finding 1: a stranger's "signature.png" ------------------------------------------------------------------

def test_a_strangers_signature_png_is_kept_on_the_job_but_does_not_release_its_sign_off_block(app, tmp_path):
    save(app, work_order("1028", email="spaces@bluebird.example"))
    raw = mail(1, "WO-1028 photo", "", sender="random.stranger@x.example",
               attachments=(("signature.png", PNG_MAGIC_AND_ZEROS, "image/png"),))

    counts = import_one(app, tmp_path, raw)

    assert counts.matched == 1
    order = latest(app, "1028")
    (kept,) = order.attachments
    assert (kept.file_name, kept.kind) == ("signature.png", AttachmentKind.signature)  # kept and shown
    assert kept.provenance.standing is EvidenceStanding.sender_not_entitled and not kept.counts
    assert kept.provenance.why == "sign-off from random.stranger@x.example is not from the customer or staff"
    blocked = decision(app, "1028", "sign_off_required")
    assert blocked.outcome == "block"
    assert "sign-off from random.stranger@x.example is not from the customer or staff" in blocked.reason
    assert blocked.evidence["not_counted"] == [{"what": "signature.png", "standing": "sender_not_entitled",
                                                 "why": kept.provenance.why}]


def test_a_signature_image_alone_even_from_the_customer_is_an_unconfirmed_signature_image():
    order = work_order("1042", email="facilities@harbor.example")
    found = evidence(mail(2, "WO-1042", "Here you go.", sender="facilities@harbor.example",
                          attachments=(("signature.png", PNG_MAGIC_AND_ZEROS, "image/png"),)), order)

    (image,) = found.attachments
    assert image.provenance.standing is EvidenceStanding.unconfirmed_signature
    assert image.provenance.why == ("unconfirmed signature image signature.png from facilities@harbor.example: "
                                    "no sign-off sentence came with it")
    check = {d.rule_id: d for d in evaluate(with_evidence(order, [found]), RuleSettings(), run_id="t").decisions}
    assert check["sign_off_required"].outcome == "block"
    assert "unconfirmed signature image signature.png" in check["sign_off_required"].reason


def test_a_signature_image_from_the_technician_with_a_sign_off_sentence_counts():
    order = work_order("1042", email="facilities@harbor.example")
    found = evidence(mail(3, "WO-1042 done", "Customer signed off on site, signature attached.",
                          attachments=(("signature.png", PNG_MAGIC_AND_ZEROS, "image/png"),)), order)

    (image,) = found.attachments
    assert image.counts and image.provenance.sender_role == "technician"
    assert found.approvals == ()  # a technician's words are not the customer's acceptance; the signature is
    check = {d.rule_id: d for d in evaluate(with_evidence(order, [found]), RuleSettings(), run_id="t").decisions}
    assert check["sign_off_required"].outcome == "pass"


def test_a_signature_the_source_declared_still_counts_without_any_mail():
    order = work_order("1042", email="facilities@harbor.example").model_copy(update={"attachments": (
        Attachment(content_hash="jobber-file:9", file_name="signature.png", kind=AttachmentKind.signature),)})
    check = {d.rule_id: d for d in evaluate(order, RuleSettings(), run_id="t").decisions}
    assert check["sign_off_required"].outcome == "pass"


def test_a_strangers_sign_off_sentence_is_recorded_but_signs_nothing_off():
    order = work_order("1042", email="facilities@harbor.example")
    found = evidence(mail(4, "WO-1042", "We approve the work. Signed off.", sender="someone@elsewhere.example"),
                     order)

    (approval,) = found.approvals
    assert approval.provenance.why == "sign-off from someone@elsewhere.example is not from the customer"
    check = {d.rule_id: d for d in evaluate(with_evidence(order, [found]), RuleSettings(), run_id="t").decisions}
    assert check["sign_off_required"].outcome == "block"
    assert approval.provenance.why in check["sign_off_required"].reason


# ---- entitled senders: customer contacts and the company's staff ------------------------------------------------

def test_a_contact_the_source_gives_for_the_customer_may_sign_off():
    order = work_order("1042", email="facilities@harbor.example").model_copy(update={"customer": Customer(
        source_id="C-1042", name="Harbor", email="facilities@harbor.example", contact_emails=("pat@harbor.example",))})
    found = evidence(mail(5, "WO-1042", "We approve the work.", sender="Pat <pat@harbor.example>"), order)

    assert found.approvals[0].counts and found.approvals[0].provenance.sender_role == "customer"


def test_a_jobber_clients_other_addresses_become_its_contacts():
    job = json.loads((Path(__file__).parents[1] / "sources" / "fixtures" / "jobber_job.json").read_text())
    job["client"]["emails"] += [{"address": "accounts@example.com", "primary": False},
                                {"address": "pat@example.com", "primary": False}]
    order = map_jobber_job(job, company="acme", default_timezone="UTC", currency="CAD")
    assert (order.customer.email, order.customer.contact_emails) == ("pat@example.com", ("accounts@example.com",))


def test_a_job_without_contacts_or_provenance_hashes_as_it_did_before_they_existed():
    """An upgrade must not turn every stored job into a new version: the hash the code before this change gave."""
    order = work_order("1042", email="facilities@harbor.example").model_copy(update={
        "attachments": (Attachment(content_hash="jobber-file:9", file_name="signature.png",
                                   kind=AttachmentKind.signature),),
        "approvals": (Approval(kind="sign_off", approved_by="Pat", approved_at=T0),)})
    assert order.content_hash() == "353d046606811f34f35a64b6d21e74e83be1c5d79b7708c387abf45225c49e23"


def test_photos_count_from_configured_staff_addresses_and_domains_and_not_from_anyone_else():
    order = work_order("1042", email="facilities@harbor.example").model_copy(
        update={"job_type": JobType.installation, "technicians": ()})
    photos = (("before.jpg", JPEG, "image/jpeg"), ("after.jpg", JPEG + b"2", "image/jpeg"))
    policy = ProvenancePolicy(staff_addresses=("@acme.example", "office@partner.example"))

    from_staff = evidence(mail(6, "WO-1042", "Done.", sender="lee@acme.example", attachments=photos), order, policy)
    from_office = evidence(mail(7, "WO-1042", "Done.", sender="Office@Partner.example", attachments=photos), order,
                           policy)
    from_lookalike = evidence(mail(8, "WO-1042", "Done.", sender="lee@acme.example.evil", attachments=photos), order,
                              policy)

    assert [a.counts for a in from_staff.attachments + from_office.attachments] == [True] * 4
    assert {a.provenance.sender_role for a in from_staff.attachments} == {"staff"}
    assert [a.counts for a in from_lookalike.attachments] == [False, False]
    check = {d.rule_id: d for d in evaluate(with_evidence(order, [from_lookalike]), RuleSettings(),
                                            run_id="t").decisions}
    assert check["photos_before_after"].outcome == "block"
    assert "photo from lee@acme.example.evil is not from the customer or staff" in check["photos_before_after"].reason


def test_staff_addresses_are_a_mailbox_setting_checked_when_the_config_is_read():
    box = MailboxConfig(kind="maildir", name="field", path="x", staff_addresses=("@Acme.Example", "Dana@Acme.example"))
    assert box.provenance_policy().staff_addresses == ("@acme.example", "dana@acme.example")
    with pytest.raises(ValueError, match="staff_addresses"):
        MailboxConfig(kind="maildir", name="field", path="x", staff_addresses=("not an address",))


# ---- finding 2: the receiving server's SPF/DKIM/DMARC verdict ---------------------------------------------------

def test_a_forged_customer_from_that_the_trusted_server_failed_signs_nothing_off_over_imap(
        app, company, imap_admin, imap_mailbox, folder, imap_password):
    save(app, work_order("1010", email="hello@maplestreet.example"))
    forged = with_headers(mail(10, "Re: WO-1010", "We approve the work. Signed off.",
                               sender="Maple Street <hello@maplestreet.example>"),
                          FORGED_FAIL.replace("harbor.example", "maplestreet.example"))
    imap_admin.append(folder, forged)

    ingest_mailbox(app, company, imap_mailbox(trusted_authserv_ids=("mx.acme.example",)))

    order = latest(app, "1010")
    (approval,) = order.approvals
    assert approval.provenance.standing is EvidenceStanding.authentication_failed
    assert approval.provenance.authentication == "fail"
    assert approval.provenance.why == ("sign-off from hello@maplestreet.example failed authentication: "
                                       "mx.acme.example says spf=fail dkim=none dmarc=fail")
    assert order.notes[0].text == "We approve the work. Signed off."  # kept and shown
    blocked = decision(app, "1010", "sign_off_required")
    assert blocked.outcome == "block" and approval.provenance.why in blocked.reason


def test_an_authentication_results_header_from_an_untrusted_server_is_ignored():
    order = work_order("1042", email="facilities@harbor.example")
    raw = with_headers(mail(11, "WO-1042", "We approve the work.", sender="facilities@harbor.example"),
                       FORGED_FAIL.replace("mx.acme.example", "mx.somebody-else.example"))
    policy = ProvenancePolicy(trusted_authserv_ids=("mx.acme.example",))

    (approval,) = evidence(raw, order, policy).approvals

    assert approval.counts and approval.provenance.authentication == "none"


def test_with_no_server_trusted_the_topmost_headers_fail_still_withholds_a_forged_sign_off_and_a_pass_proves_nothing():
    order = work_order("1042", email="facilities@harbor.example")
    plain = mail(13, "WO-1042", "We approve the work. Signed off.", sender="facilities@harbor.example")
    default = ProvenancePolicy()  # a mailbox as configured out of the box: no trusted_authserv_ids

    (forged,) = evidence(with_headers(plain, FORGED_FAIL), order, default).approvals
    (claimed,) = evidence(with_headers(plain, "Authentication-Results: mx.anyone.example; dmarc=pass "
                                              "header.from=harbor.example"), order, default).approvals
    (buried,) = evidence(with_headers(plain, "Authentication-Results: mx.acme.example; dmarc=pass header.from=h.example",
                                      FORGED_FAIL), order, default).approvals

    assert not forged.counts and forged.provenance.standing is EvidenceStanding.authentication_failed
    assert "spf=fail dkim=none dmarc=fail" in forged.provenance.why
    assert claimed.counts and claimed.provenance.authentication == "none"
    assert buried.counts  # only the topmost header is the receiving server's; a fail below it is anyone's


def test_require_pass_counts_only_mail_the_trusted_server_passed_and_ignore_counts_all():
    order = work_order("1042", email="facilities@harbor.example")
    plain = mail(12, "WO-1042", "We approve the work.", sender="facilities@harbor.example")
    passed = with_headers(plain, "Authentication-Results: mx.acme.example; spf=pass smtp.mailfrom=harbor.example; "
                                 "dkim=pass header.d=harbor.example; dmarc=pass header.from=harbor.example")
    failed = with_headers(plain, FORGED_FAIL)
    strict = ProvenancePolicy(auth_results="require_pass", trusted_authserv_ids=("mx.acme.example",))
    lax = ProvenancePolicy(auth_results="ignore", trusted_authserv_ids=("mx.acme.example",))

    (unverified,) = evidence(plain, order, strict).approvals
    assert unverified.provenance.standing is EvidenceStanding.authentication_missing
    assert unverified.provenance.why == ("sign-off from facilities@harbor.example has no passing SPF, DKIM or DMARC "
                                         "verdict from a trusted server (auth_results = require_pass)")
    assert evidence(passed, order, strict).approvals[0].counts
    assert evidence(failed, order, lax).approvals[0].counts


def test_the_topmost_trusted_verdict_decides_so_a_pass_the_sender_wrote_below_it_does_not():
    values = ["mx.acme.example; spf=fail smtp.mailfrom=harbor.example; dmarc=fail header.from=harbor.example",
              "mx.acme.example; dmarc=pass header.from=harbor.example"]
    assert read_verdict(values, trusted=("mx.acme.example",), from_domain="harbor.example").verdict == "fail"


def test_without_dmarc_an_aligned_dkim_or_spf_pass_passes_and_an_spf_fail_with_no_dkim_pass_fails():
    trusted = ("mx.acme.example",)
    assert read_verdict(["mx.acme.example; dkim=pass header.d=mail.harbor.example"], trusted=trusted,
                        from_domain="harbor.example").verdict == "pass"
    assert read_verdict(["mx.acme.example; dkim=pass header.d=bulk-sender.example"], trusted=trusted,
                        from_domain="harbor.example").verdict == "none"  # signed, but by someone else
    assert read_verdict(["mx.acme.example; spf=fail smtp.mailfrom=harbor.example"], trusted=trusted,
                        from_domain="harbor.example").verdict == "fail"


@pytest.mark.parametrize("value", ["", ";;;", "mx.acme.example; spf", "mx.acme.example; spf=pass " + "(" * 5000,
                                   "mx.acme.example; " + "spf=pass; " * 20_000, "mx.acme.example; dkim=\x00\xff"])
def test_a_broken_or_huge_trusted_header_is_no_verdict_and_never_an_error(value):
    found = read_verdict([value], trusted=("mx.acme.example",), from_domain="harbor.example")
    assert found.verdict == "none"


def test_a_message_with_thousands_of_authentication_results_keeps_the_topmost_twenty():
    lines = [f"Authentication-Results: relay{n}.example; spf=pass" for n in range(5_000)]
    message = parse_message(with_headers(mail(15, "WO-1042"), *lines), max_attachment_bytes=10**6)
    assert len(message.authentication_results) == 20
    assert message.authentication_results[0] == "relay0.example; spf=pass"


def test_the_verdict_policy_is_a_mailbox_setting_with_reject_fail_by_default():
    box = MailboxConfig(kind="maildir", name="field", path="x")
    assert (box.auth_results, box.trusted_authserv_ids) == ("reject_fail", ())
    with pytest.raises(ValueError):
        MailboxConfig(kind="maildir", name="field", path="x", auth_results="trust_everything")


def test_an_import_uses_the_companys_mailbox_policy(app, tmp_path):
    strict = MailboxConfig(kind="maildir", name="field", path=tmp_path, trusted_authserv_ids=("mx.acme.example",),
                           staff_addresses=("@acme.example",))
    app.config = app.config.model_copy(update={"companies": (
        app.config.company("acme").model_copy(update={"mailboxes": (strict,)}),)})
    raw = with_headers(mail(13, "WO-1042", "We approve the work.", sender="facilities@harbor.example"), FORGED_FAIL)

    import_one(app, tmp_path, raw)

    assert latest(app, "1042").approvals[0].provenance.standing is EvidenceStanding.authentication_failed


# ---- what is not trusted never leaves Closeout ---------------------------------------------------------------

def test_a_strangers_file_is_never_planned_for_the_ledger_invoice_but_an_entitled_ones_is(app, tmp_path):
    save(app, work_order("1028", email="spaces@bluebird.example"))
    import_one(app, tmp_path, mail(14, "WO-1028 photo", "", sender="random.stranger@x.example",
                                   attachments=(("after-1.jpg", JPEG, "image/jpeg"),)))
    import_one(app, tmp_path, mail(15, "WO-1028 photo", "", sender="spaces@bluebird.example",
                                   attachments=(("after-2.jpg", JPEG + b"2", "image/jpeg"),)))
    order = latest(app, "1028")
    draft = InvoiceDraft(company="acme", ledger="quickbooks", work_order_id=order.id, work_order_version=order.version,
                         customer_name="Bluebird", doc_number="1028", txn_date=T0.date(), currency="USD", lines=(),
                         attachment_hashes=tuple(a.content_hash for a in order.attachments))

    with app.store.unit_of_work() as uow:
        record = uow.push_records.add_ready(draft)
        plan_evidence(app, uow, record)
        planned = [item.target for item in uow.push_evidence.for_record(record.idempotency_key)]
        uow.commit()

    assert [a.file_name for a in order.attachments] == ["after-1.jpg", "after-2.jpg"]  # both kept and shown
    assert [name.split("-")[0] + "-" + name.split("-")[1] for name in planned] == ["after-2"]
