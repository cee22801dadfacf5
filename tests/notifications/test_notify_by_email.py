"""Assignment notices over a real SMTP server on 127.0.0.1: recorded once, sent once, retried, shown when lost."""

from __future__ import annotations

from closeout.notifiers import open_notifiers
from notifications import NoticeStatus
from services.casework import take_decision
from services.notify import BACKOFF, MAX_ATTEMPTS, NOTIFICATION_FAILED, send_due
from tests.notifications.conftest import BOSS, free_port, notifying_config, open_case


def _send(store, config):
    with open_notifiers(config) as notifier_for:
        return send_due(store, notifier_for)


def _assign(store, case_id, assignee, actor=BOSS):
    return take_decision(store, case_id, "assign", actor=actor, fields={"assignee": assignee})


def test_a_case_assigned_to_ann_emails_ann_once(store, config, smtp, people):
    case = open_case(store)
    _assign(store, case.id, "ann")

    report = _send(store, config)

    assert len(report.sent) == 1
    [message] = smtp.to("ann@acme.test")
    assert message["From"] == "closeout@acme.test"
    assert f"Case #{case.id} assigned to you" in message["Subject"]
    assert "boss assigned case" in message.get_content()
    assert "Job 1021 has no job note" in message.get_content()
    assert len(smtp.received) == 1


def test_assigning_the_same_case_to_ann_twice_and_sending_twice_still_sends_one_email(store, config, smtp, people):
    case = open_case(store)
    _assign(store, case.id, "ann")
    _assign(store, case.id, "ann")

    _send(store, config)
    second = _send(store, config)

    assert second.sent == []
    assert len(smtp.to("ann@acme.test")) == 1


def test_reassigning_tells_each_new_assignee(store, config, smtp, people):
    case = open_case(store)
    _assign(store, case.id, "ann")
    _assign(store, case.id, "bob")

    _send(store, config)

    assert len(smtp.to("ann@acme.test")) == 1
    assert len(smtp.to("bob@acme.test")) == 1


def test_nobody_is_emailed_when_the_assignee_has_no_address_or_took_the_case_themselves(store, config, smtp, people):
    first, second = open_case(store, subject="csv:J1"), open_case(store, subject="csv:J2")
    _assign(store, first.id, "carl")
    with store.unit_of_work() as uow:
        ann = uow.users.get("ann")
    _assign(store, second.id, "ann", actor=ann)

    report = _send(store, config)

    assert report.sent == [] and smtp.received == []


def test_a_notice_whose_server_is_down_is_retried_and_sent_when_it_is_back(store, smtp, clock, people):
    config = notifying_config(smtp.port)
    smtp.stop()
    case = open_case(store)
    _assign(store, case.id, "ann")

    first = _send(store, config)
    clock.advance(seconds=BACKOFF[0].total_seconds() / 2)
    too_soon = _send(store, config)
    smtp.start()
    clock.advance(seconds=BACKOFF[0].total_seconds())
    later = _send(store, config)

    assert len(first.retrying) == 1 and "could not be reached" in first.retrying[0][1]
    assert too_soon.sent == [] and too_soon.retrying == []
    assert len(later.sent) == 1
    assert len(smtp.to("ann@acme.test")) == 1
    with store.unit_of_work() as uow:
        [record] = uow.notifications.for_case(case.id)
        history = uow.cases.get(case.id).history
    assert record.status is NoticeStatus.sent and record.attempts == 2
    assert NOTIFICATION_FAILED not in [entry.action for entry in history]


def test_a_notice_that_never_gets_through_is_written_on_its_case_after_the_last_attempt(store, clock, people):
    config = notifying_config(free_port())  # nothing listens there
    case = open_case(store)
    _assign(store, case.id, "ann")

    reports = []
    for _ in range(MAX_ATTEMPTS + 1):
        reports.append(_send(store, config))
        clock.advance(hours=3)

    assert [len(r.retrying) for r in reports] == [1] * (MAX_ATTEMPTS - 1) + [0, 0]
    assert [len(r.failed) for r in reports] == [0] * (MAX_ATTEMPTS - 1) + [1, 0]
    with store.unit_of_work() as uow:
        [record] = uow.notifications.for_case(case.id)
        failures = [e for e in uow.cases.get(case.id).history if e.action == NOTIFICATION_FAILED]
    assert record.status is NoticeStatus.failed and record.attempts == MAX_ATTEMPTS
    [failure] = failures
    assert failure.note.startswith(f"case_assigned notification to ann@acme.test by email failed after "
                                   f"{MAX_ATTEMPTS} attempts:")
    assert "could not be reached" in failure.note


def test_a_company_without_smtp_settings_shows_the_failure_on_the_case_at_once(store, smtp, people):
    config = notifying_config(smtp.port, smtp_host="", sender="")
    case = open_case(store)
    _assign(store, case.id, "ann")

    report = _send(store, config)

    assert len(report.failed) == 1 and smtp.received == []
    with store.unit_of_work() as uow:
        [failure] = [e for e in uow.cases.get(case.id).history if e.action == NOTIFICATION_FAILED]
    assert "has no email set up" in failure.note


def test_a_new_high_severity_case_emails_the_on_call_address_once(store, config, smtp, people):
    from services.notify import record_high_severity
    from workorders.anomalies import AnomalyCode

    open_case(store, AnomalyCode.ledger_rejected, summary="QBO refused invoice AC-1021")
    open_case(store, AnomalyCode.unmatched_email, subject="mail:1", summary="a low one")

    record_high_severity(store, config)
    record_high_severity(store, config)
    _send(store, config)
    _send(store, config)

    [message] = smtp.to("oncall@acme.test")
    assert "High-severity case" in message["Subject"] and "ledger_rejected" in message["Subject"]
    assert "QBO refused invoice AC-1021" in message.get_content()
    assert len(smtp.received) == 1
