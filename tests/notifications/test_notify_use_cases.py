"""The use cases of ``services.notify`` on the in-memory store: the fake keeps the SQL adapter's once-only promises."""

from __future__ import annotations

from notifications import Channel, Notice, NotifyError
from services.casework import take_decision
from services.notify import MAX_ATTEMPTS, NOTIFICATION_FAILED, record_digests, send_due
from services.users import add_user
from exceptions_queue.service import CaseQueue
from exceptions_queue.users import Role, User
from tests.fakes import FakeStore, company_config
from workorders.anomalies import Anomaly, AnomalyCode


class Outbox:
    """A notifier that keeps what it was handed, or refuses everything with ``error``."""

    def __init__(self, error: NotifyError | None = None) -> None:
        self.sent: list[Notice] = []
        self.error = error

    def send(self, notice: Notice) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(notice)


def _store_with_a_case() -> tuple[FakeStore, int]:
    store = FakeStore()
    add_user(store, "ann", Role.coordinator, "a-long-enough-password", actor="test", email="ann@acme.test")
    with store.unit_of_work() as uow:
        case, _ = CaseQueue(uow.cases, clock=uow.clock).open_case(
            Anomaly(code=AnomalyCode.rule_blocked, subject="csv:J1", company="acme", summary="no job note"))
        uow.commit()
    return store, case.id


def test_an_assignment_on_the_in_memory_store_is_sent_once_to_the_assignee():
    store, case_id = _store_with_a_case()
    outbox = Outbox()
    boss = User(username="boss", role=Role.admin)
    take_decision(store, case_id, "assign", actor=boss, fields={"assignee": "ann"})
    take_decision(store, case_id, "assign", actor=boss, fields={"assignee": "ann"})

    send_due(store, lambda company, channel: outbox if channel is Channel.email else None)
    send_due(store, lambda company, channel: outbox)

    assert [(n.recipient, n.kind) for n in outbox.sent] == [("ann@acme.test", "case_assigned")]


def test_a_notice_refused_every_time_is_written_on_its_case_once_after_the_last_attempt():
    store, case_id = _store_with_a_case()
    take_decision(store, case_id, "assign", actor=User(username="boss", role=Role.admin), fields={"assignee": "ann"})
    outbox = Outbox(NotifyError("smtp.test:587 answered 451 try later", retriable=True))

    for _ in range(MAX_ATTEMPTS + 2):
        send_due(store, lambda company, channel: outbox)
        store.clock.advance(hours=3)

    with store.unit_of_work() as uow:
        notes = [e.note for e in uow.cases.get(case_id).history if e.action == NOTIFICATION_FAILED]
    assert len(notes) == 1 and "451 try later" in notes[0]


def test_a_digest_without_a_case_that_fails_is_kept_in_the_audit_trail():
    store, case_id = _store_with_a_case()
    store.clock.advance(hours=30)
    record_digests(store, company_config("acme"))

    send_due(store, lambda company, channel: None)

    with store.unit_of_work() as uow:
        [entry] = [e for e in uow.audit.recent() if e.action == NOTIFICATION_FAILED]
    assert entry.subject.startswith("notification:daily_digest:acme:ann:") and "has no email set up" in entry.note


def test_a_users_entry_of_the_config_gives_that_user_an_address_to_be_told_at():
    from exceptions_queue.users import hash_password
    from services.config import UserConfig
    from services.users import sync_config_users

    store = FakeStore()
    entry = UserConfig(username="dana", role="coordinator", password_hash=hash_password("a-long-enough-password"),
                       email="dana@acme.test")

    first = sync_config_users(store, [entry])
    again = sync_config_users(store, [entry])

    with store.unit_of_work() as uow:
        assert uow.users.get("dana").email == "dana@acme.test"
    assert first == ["dana"] and again == []
