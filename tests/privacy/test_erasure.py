"""Erasure takes a person out of payloads, mail, work orders and cases, keeps the books, and is itself audited."""

from __future__ import annotations

import sqlalchemy as sa

from connectors.source_http import SourceJob
from services.audit import run_audit
from services.counts import StepCounts
from services.erasure import CUSTOMER_ERASED, ERASED, Person, Scrubber, erase_customer, erasure_digest
from services.intake import take_jobs
from storage.tables import audit_events, cases, mail_messages, push_records, raw_payloads, work_order_versions
from privacy_workspace import AFTER, ANA, ANA_EMAIL, PHOTO

# What identifies Ana in the store: her name, address, phone (in her mail) and the street lines of her two jobs.
ANA_TEXT = (ANA, ANA_EMAIL, "021 555 0199", "1 Harbour Road", "2 Harbour Road")
APPEND_ONLY = ("audit_events", "case_history")  # refused UPDATE by the database: kept as written


def finish_everything(workspace) -> None:
    """A coordinator decides both open cases: Ana's unmatched question and job 5002's missing sign-off."""
    for (case_id,) in workspace.query(sa.select(cases.c.id).where(cases.c.status == "open")):
        workspace.ignore_case(case_id)


def snapshot_of(workspace, work_order_id: str) -> list[dict]:
    return [row.snapshot for row in workspace.query(
        sa.select(work_order_versions.c.snapshot).where(work_order_versions.c.work_order_id == work_order_id)
        .order_by(work_order_versions.c.version))]


def books(workspace) -> list[tuple]:
    p = push_records.c
    return workspace.query(sa.select(p.idempotency_key, p.doc_number, p.amount, p.status, p.ledger_id, p.ledger_total)
                           .order_by(p.idempotency_key))


def test_erasing_a_finished_customer_leaves_nothing_of_them_but_the_books_and_the_audit_still_passes(workspace):
    finish_everything(workspace)
    others = {job: snapshot_of(workspace, job) for job in ("csv:J5004", "csv:J5005")}
    invoices = books(workspace)

    with workspace.app() as app:
        report = erase_customer(app, ANA_EMAIL, apply=True, actor="dpo")
        audit = run_audit(app)

    assert workspace.mentions(*ANA_TEXT, skip=APPEND_ONLY) == {}
    assert workspace.files_naming(ANA.encode(), ANA_EMAIL.encode(), PHOTO) == []
    assert audit.ok, audit.failures
    assert books(workspace) == invoices  # doc numbers, amounts, statuses and ledger ids as they were
    assert {job: snapshot_of(workspace, job) for job in others} == others  # Cara's and Dev's jobs untouched
    assert workspace.files_naming(AFTER) != []  # Dev's photo stays
    assert report.kept_work_orders == [] and report.kept_cases == [] and report.kept_messages == 0
    assert (report.work_orders, report.cases) == (3, 3)  # 5001, 5002, 5003 (names her)
    assert report.messages == 4  # from her (2), the technician's on 5002, and the one to her
    assert report.payloads == 5  # 5001, 5002 (two revisions), 5003, and 5006 which never mapped


def test_erased_work_orders_keep_their_shape_with_a_placeholder_for_the_customer(workspace):
    finish_everything(workspace)

    with workspace.app() as app:
        erase_customer(app, ANA, apply=True)
        with app.store.unit_of_work() as uow:
            mine, named = uow.work_orders.get("csv:J5001"), uow.work_orders.get("csv:J5003")
            (record,) = uow.push_records.for_work_order("csv:J5001")

    placeholder = f"erased customer {erasure_digest(ANA)}"
    assert (mine.customer.name, mine.customer.email, mine.site.address.line1) == (placeholder, None, "")
    assert [note.text for note in mine.notes if note.source.startswith("mail:")] == [ERASED]
    assert (record.draft.customer_name, record.draft.customer_email, record.draft.bill_to) == (placeholder, None, None)
    assert named.customer.name == "Ben Ortiz"
    assert [note.text for note in named.notes] == [f"Referred by {placeholder}, his neighbour"]


def test_an_unfinished_work_order_its_mail_and_open_cases_are_kept_and_named(workspace):
    with workspace.app() as app:
        report = erase_customer(app, ANA_EMAIL, apply=True)
        audit = run_audit(app)

    assert report.kept_work_orders == ["csv:J5002", "csv:J5006"]  # a sign-off missing; a payload to fix: cases open
    assert report.kept_messages == 3 and len(report.kept_cases) == 3  # on 5002, and two unplaced (cases open)
    assert ANA in str(snapshot_of(workspace, "csv:J5002"))
    assert ANA not in str(snapshot_of(workspace, "csv:J5001"))
    kept = [row.external_id for row in workspace.query(sa.select(raw_payloads))]
    assert (kept.count("J5002"), kept.count("J5006"), kept.count("J5001")) == (2, 1, 0)
    assert audit.ok, audit.failures


def test_the_erasure_is_one_audit_entry_naming_only_its_hash_and_counts(workspace):
    finish_everything(workspace)

    with workspace.app() as app:
        erase_customer(app, ANA_EMAIL, apply=True, actor="dpo")

    (entry,) = workspace.query(sa.select(audit_events).where(audit_events.c.action == CUSTOMER_ERASED))
    assert (entry.actor, entry.subject) == ("dpo", f"erasure:{erasure_digest(ANA_EMAIL)}")
    assert entry.after["work_orders"] == 3 and entry.after["payloads"] == 5
    assert not any(text.lower() in str(tuple(entry)).lower() for text in ANA_TEXT)


def test_without_apply_the_erasure_counts_and_changes_nothing(workspace):
    finish_everything(workspace)
    tables = {table: workspace.rows(table) for table in (work_order_versions, raw_payloads, mail_messages, cases,
                                                          push_records, audit_events)}
    files = workspace.files_naming(ANA_EMAIL.encode(), PHOTO)

    with workspace.app() as app:
        counted = erase_customer(app, ANA_EMAIL)
        assert {table: workspace.rows(table) for table in tables} == tables
        assert workspace.files_naming(ANA_EMAIL.encode(), PHOTO) == files != []
        applied = erase_customer(app, ANA_EMAIL, apply=True)

    assert not counted.applied and counted.counts() == applied.counts() and counted.work_orders == 3


def test_erasing_again_finds_nothing_left_and_audits_nothing(workspace):
    finish_everything(workspace)

    with workspace.app() as app:
        erase_customer(app, ANA_EMAIL, apply=True)
        again = erase_customer(app, ANA_EMAIL, apply=True)

    assert again.nothing
    assert len(workspace.query(sa.select(audit_events).where(audit_events.c.action == CUSTOMER_ERASED))) == 1


def test_a_job_the_source_sends_again_unchanged_after_erasure_makes_no_new_version(workspace):
    payloads = workspace.query(sa.select(raw_payloads).where(raw_payloads.c.external_id.in_(["J5001", "J5003"])))
    versions = len(workspace.rows(work_order_versions))

    with workspace.app() as app:
        erase_customer(app, ANA_EMAIL, apply=True)
        company = app.companies()[0]
        counts = StepCounts()
        with app.store.unit_of_work() as uow:
            take_jobs(app, uow, company, company.sources[0], [
                SourceJob(source=row.source, stream=row.stream, external_id=row.external_id, locator=row.locator,
                          payload=row.payload) for row in payloads], counts)
            uow.commit()

    assert counts.pulled == 2 and counts.changed == 0
    assert len(workspace.rows(work_order_versions)) == versions


def test_closeout_erase_counts_by_default_erases_with_apply_and_the_audit_passes_after(workspace):
    finish_everything(workspace)

    counted = workspace.closeout("erase", "--customer", ANA_EMAIL)

    assert counted.returncode == 0, counted.stdout + counted.stderr
    assert f"would erase customer {erasure_digest(ANA_EMAIL)}: 3 work order(s)" in counted.stdout
    assert "--apply" in counted.stdout
    assert workspace.mentions(ANA_EMAIL, skip=APPEND_ONLY) != {}

    applied = workspace.closeout("erase", "--customer", ANA_EMAIL, "--company", "acme", "--apply")

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"erased customer {erasure_digest(ANA_EMAIL)}" in applied.stdout
    assert workspace.mentions(*ANA_TEXT, skip=APPEND_ONLY) == {}
    audited = workspace.closeout("audit")
    assert audited.returncode == 0, audited.stdout + audited.stderr


def test_closeout_erase_says_a_mistake_in_one_line_with_exit_code_2_and_nothing_to_erase_with_0(workspace):
    unknown = workspace.closeout("erase", "--customer", ANA_EMAIL, "--company", "nobody")
    blank = workspace.closeout("erase", "--customer", "  ")
    nobody = workspace.closeout("erase", "--customer", "zoe@nowhere.example", "--apply")

    assert unknown.returncode == 2
    assert unknown.stdout.strip().splitlines() == ["error: no company 'nobody' in the config"]
    assert blank.returncode == 2 and "say whose data to erase" in blank.stdout
    assert "Traceback" not in unknown.stderr + blank.stderr
    assert nobody.returncode == 0 and nobody.stdout.startswith("nothing to erase")
    assert workspace.query(sa.select(mail_messages.c.from_address).where(
        mail_messages.c.from_address == ANA_EMAIL)) != []


def test_the_scrubber_erases_their_words_replaces_each_mention_and_leaves_look_alikes():
    scrub = Scrubber(Person("abc123", names=frozenset({"ana lima"}), emails=frozenset({"ana@lima.example"}),
                            others=frozenset({"1 harbour road"})))

    note = scrub.json({"author": "Ana Lima", "at": "2026-03-03T09:00:00Z", "text": "call me", "source": "mail:x"})
    customer = scrub.json({"source_id": "C-1", "name": "ANA LIMA", "email": None, "phone": "021",
                           "billing_address": {"line1": "1 Harbour Road", "city": "Springfield"}})

    assert note == {"author": "erased customer abc123", "at": "2026-03-03T09:00:00Z", "text": ERASED,
                    "source": "mail:x"}
    assert customer == {"source_id": "C-1", "name": "erased customer abc123", "email": None, "phone": None,
                        "billing_address": {"line1": "", "city": ""}}
    assert scrub.text("Referred by Ana Lima (ana@lima.example), 1 Harbour Road") == (
        "Referred by erased customer abc123 (erased customer abc123), erased customer abc123")
    assert scrub.text("Joanna Limason at 11 Harbour Road, nana@lima.example.org") == (
        "Joanna Limason at 11 Harbour Road, nana@lima.example.org")
