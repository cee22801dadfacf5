"""Linking an unplaced email to a work order by hand, through the desk the UI uses, on a SQLite store."""

from __future__ import annotations

import pytest

from services.casework import StoreDesk
from services.mail.ingest import import_mail
from services.prepare import prepare_batch
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import DecisionError
from exceptions_queue.users import Role, User
from mail_factory import mail
from workorders.work_order import AttachmentKind

DANA = User(username="dana", role=Role.coordinator)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def import_one(app, tmp_path):
    """Import one message from a Maildir export and return the open case it left (an unmatched email)."""
    def run(raw: bytes):
        box = tmp_path / f"box{len(list(tmp_path.glob('box*')))}" / "new"
        box.mkdir(parents=True)
        (box / "1.eml").write_bytes(raw)
        import_mail(app, box.parent)
        with app.store.unit_of_work() as uow:
            found = uow.cases.list(kinds=(CaseKind.unmatched_email,), statuses=(CaseStatus.open,))
        assert len(found) == 1
        return found[0]
    return run


def latest(app, job):
    with app.store.unit_of_work() as uow:
        return next(o for o in uow.work_orders.latest(company="acme") if o.job_number == job)


def test_linking_an_ambiguous_email_to_a_candidate_puts_its_note_on_that_job_and_resolves_the_case(app, import_one):
    case = import_one(mail(7, "Filters", "Please use the blue filters next time.", sender="ops@prairie.example"))
    candidates = {c["job_number"]: c["work_order_id"] for c in case.evidence["candidates"]}
    assert sorted(candidates) == ["1043", "1044"]
    desk = StoreDesk(app)

    done = desk.link_email(case.id, actor=DANA, work_order=candidates["1044"])

    assert done.status is CaseStatus.resolved
    linked = next(e for e in done.history if e.action == "email_linked")
    assert (linked.actor, linked.before["work_order_id"]) == ("dana", None)
    assert (linked.after["job_number"], linked.after["work_order_version"]) == ("1044", 2)
    order = latest(app, "1044")
    assert [n.text for n in order.notes] == ["Please use the blue filters next time."]
    assert order.notes[0].source == "mail:<m7@van.acme.example>" and latest(app, "1043").version == 1
    with app.store.unit_of_work() as uow:
        (message,) = uow.messages.list(company="acme")
        pending = [o.id for o in uow.work_orders.pending_evaluation()]
    assert (message.status, message.method, message.confidence) == ("matched", "manual", 1.0)
    assert message.explanation == "linked by dana" and message.job_number == "1044"
    assert order.id in pending
    prepare_batch(app, run_id="after-link")
    with app.store.unit_of_work() as uow:
        assert uow.decisions.for_work_order(order.id, order.version)
    assert any(e.action == "email_linked" and e.after["job_number"] == "1044" for e in desk.audit_trail())
    assert desk.context(case.id).work_order["notes"][0]["text"] == "Please use the blue filters next time."


def test_a_typed_job_number_links_an_email_from_a_stranger_with_its_photo(app, import_one):
    raw = mail(8, "Pictures", "After photos attached.", sender="someone@elsewhere.example",
               attachments=(("after.png", PNG, "image/png"),))
    case = import_one(raw)
    assert case.evidence["candidates"] == []

    StoreDesk(app).link_email(case.id, actor=DANA, work_order=" #1042 ")

    order = latest(app, "1042")
    assert [(a.file_name, a.kind) for a in order.attachments] == [("after.png", AttachmentKind.photo_after)]
    assert order.notes[0].text == "After photos attached."


def test_only_coordinators_and_admins_link_and_a_wrong_job_or_a_closed_case_is_a_clear_refusal(app, import_one):
    case = import_one(mail(9, "Hello", "No job here.", sender="someone@elsewhere.example"))
    desk = StoreDesk(app)
    for role in (Role.viewer, Role.finance):
        with pytest.raises(PermissionError, match="coordinator or an admin"):
            desk.link_email(case.id, actor=User(username="v", role=role), work_order="1042")
    with pytest.raises(DecisionError, match="no work order or job number '9999'"):
        desk.link_email(case.id, actor=DANA, work_order="9999")
    with pytest.raises(DecisionError, match="say which work order"):
        desk.link_email(case.id, actor=DANA, work_order="  ")
    assert latest(app, "1042").version == 1
    desk.link_email(case.id, actor=User(username="ada", role=Role.admin), work_order="1042")
    with pytest.raises(DecisionError, match="resolved: reopen it"):
        desk.link_email(case.id, actor=DANA, work_order="1043")
    desk.decide(case.id, "reopen", actor=DANA, fields={})
    with pytest.raises(DecisionError, match="already linked to job 1042"):
        desk.link_email(case.id, actor=DANA, work_order="1043")
    assert latest(app, "1042").version == 2 and latest(app, "1043").version == 1
