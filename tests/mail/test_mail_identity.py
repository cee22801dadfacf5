"""A message is identified by its content where Message-IDs collide: each one is a case of its own, linkable, and
the audit accounts for each one separately."""

from __future__ import annotations

from mail_factory import mail
from services.audit_mail import audit_mail
from services.casework import StoreDesk
from services.mail.ingest import import_mail
from exceptions_queue.cases import CaseKind, CaseStatus, HistoryEntry
from exceptions_queue.users import Role, User

DANA = User(username="dana", role=Role.coordinator)
SHARED_ID = b"<m1@van.acme.example>"


def three_messages_sharing_one_message_id() -> list[bytes]:
    """Different messages, one Message-ID (a broken mailer, or someone replaying one id on purpose)."""
    return [mail(1, "Filters", "Please use the blue filters.", sender="someone@elsewhere.example"),
            mail(1, "Gasket", "The cooler door gasket is torn.", sender="someone@elsewhere.example"),
            mail(1, "Thermostat", "Operatory 2 reads warm.", sender="other@elsewhere.example")]


def import_all(app, tmp_path, raws, name="box"):
    box = tmp_path / name / "new"
    box.mkdir(parents=True)
    for n, raw in enumerate(raws, start=1):
        assert SHARED_ID in raw
        (box / f"{n}.eml").write_bytes(raw)
    return import_mail(app, box.parent)


def email_cases(app, *statuses):
    with app.store.unit_of_work() as uow:
        return uow.cases.list(kinds=(CaseKind.unmatched_email,), statuses=statuses or (CaseStatus.open,))


def audit(app):
    with app.store.unit_of_work() as uow:
        return audit_mail(uow, uow.cases.list(), app.home / "mail" / "raw")


def latest(app, job):
    with app.store.unit_of_work() as uow:
        return next(o for o in uow.work_orders.latest(company="acme") if o.job_number == job)


def test_three_different_messages_sharing_one_message_id_are_three_cases(app, tmp_path):
    counts = import_all(app, tmp_path, three_messages_sharing_one_message_id())

    cases = email_cases(app)
    assert (counts.fetched, counts.duplicates, counts.unmatched) == (3, 0, 3)
    assert len(cases) == 3 and len({case.subject for case in cases}) == 3
    assert sorted(case.evidence["subject"] for case in cases) == ["Filters", "Gasket", "Thermostat"]
    assert {case.evidence["message_id"] for case in cases} == {SHARED_ID.decode()}
    assert len({case.evidence["content_hash"] for case in cases}) == 3


def test_each_of_them_links_to_its_own_job_with_its_own_text(app, tmp_path):
    import_all(app, tmp_path, three_messages_sharing_one_message_id())
    by_subject = {case.evidence["subject"]: case for case in email_cases(app)}
    desk = StoreDesk(app)

    desk.link_email(by_subject["Gasket"].id, actor=DANA, work_order="1042")
    desk.link_email(by_subject["Thermostat"].id, actor=DANA, work_order="1043")
    desk.link_email(by_subject["Filters"].id, actor=DANA, work_order="1044")

    assert [n.text for n in latest(app, "1042").notes] == ["The cooler door gasket is torn."]
    assert [n.text for n in latest(app, "1043").notes] == ["Operatory 2 reads warm."]
    assert [n.text for n in latest(app, "1044").notes] == ["Please use the blue filters."]
    with app.store.unit_of_work() as uow:
        assert sorted(m.job_number for m in uow.messages.list(company="acme")) == ["1042", "1043", "1044"]
    assert email_cases(app) == [] and audit(app).accounted == {"attached": 3}


def test_the_audit_accounts_for_each_message_only_by_its_own_case(app, tmp_path):
    import_all(app, tmp_path, three_messages_sharing_one_message_id())
    first = next(case for case in email_cases(app) if case.evidence["subject"] == "Filters")
    assert audit(app).ok and audit(app).accounted == {"case": 3}

    StoreDesk(app).link_email(first.id, actor=DANA, work_order="1042")

    report = audit(app)
    assert report.ok and report.accounted == {"attached": 1, "case": 2}


def test_a_case_from_before_content_identity_accounts_for_no_message_whose_id_others_share(app, tmp_path):
    """A case that names a Message-ID and no content hash cannot say which of several messages it is about."""
    import_all(app, tmp_path, three_messages_sharing_one_message_id())
    with app.store.unit_of_work() as uow:
        for case in uow.cases.list(kinds=(CaseKind.unmatched_email,)):
            uow.cases.update(case.model_copy(update={"subject": f"mail:acme/{SHARED_ID.decode()}", "evidence": {
                k: v for k, v in case.evidence.items() if k != "content_hash"}}),
                HistoryEntry(at=case.opened_at, actor="test", action="commented", note="as stored before"))
        uow.commit()

    report = audit(app)

    assert not report.ok and len(report.unaccounted) == 3


def test_the_same_message_read_again_is_still_a_duplicate_and_opens_no_case(app, tmp_path):
    raws = three_messages_sharing_one_message_id()
    import_all(app, tmp_path, raws)
    again = import_all(app, tmp_path, raws, name="again")
    assert (again.fetched, again.duplicates, again.cases_opened.total()) == (3, 3, 0)
    assert len(email_cases(app)) == 3
