"""Fixtures for notifications: a real SMTP server (aiosmtpd) on 127.0.0.1, a store, a company that notifies."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from exceptions_queue.cases import Case
from exceptions_queue.service import CaseQueue
from exceptions_queue.users import Role, User
from services.config import CloseoutConfig, NotifyConfig
from services.users import add_user
from storage import SqlStore, open_store
from tests.fakes import Clock, company_config
from workorders.anomalies import Anomaly, AnomalyCode

BOSS = User(username="boss", role=Role.admin)
PASSWORD = "a-long-enough-password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class _Collect:
    """aiosmtpd's handler: keeps every message it was handed, parsed, with its envelope recipients."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on the same port (a server down)."""

    def __init__(self, **options) -> None:
        self.port = free_port()
        self.handler = _Collect()
        self._options = options
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **self._options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[tuple[list[str], EmailMessage]]:
        return self.handler.received

    def to(self, address: str) -> list[EmailMessage]:
        return [message for recipients, message in self.received if address in recipients]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'closeout.db'}", clock=clock)
    yield opened
    opened.close()


def notifying_config(port: int, **notify) -> CloseoutConfig:
    """acme notifies by plain SMTP to 127.0.0.1:port; ``notify`` overrides its NotifyConfig fields."""
    settings = dict(smtp_host="127.0.0.1", smtp_port=port, smtp_security="plain", sender="closeout@acme.test",
                    on_call="oncall@acme.test", sla_hours=24)
    settings.update(notify)
    return CloseoutConfig(companies=(company_config("acme", notify=NotifyConfig(**settings)),))


@pytest.fixture
def config(smtp: SmtpServer) -> CloseoutConfig:
    return notifying_config(smtp.port)


@pytest.fixture
def people(store: SqlStore) -> None:
    """ann and bob take cases and have addresses; carl takes cases without one; vera only views."""
    add_user(store, "ann", Role.coordinator, PASSWORD, actor="test", email="ann@acme.test")
    add_user(store, "bob", Role.coordinator, PASSWORD, actor="test", email="bob@acme.test")
    add_user(store, "carl", Role.coordinator, PASSWORD, actor="test")
    add_user(store, "vera", Role.viewer, PASSWORD, actor="test", email="vera@acme.test")


def open_case(store: SqlStore, code: AnomalyCode = AnomalyCode.rule_blocked, *, subject: str = "csv:J1",
              company: str = "acme", summary: str = "Job 1021 has no job note") -> Case:
    with store.unit_of_work() as uow:
        case, _ = CaseQueue(uow.cases, clock=uow.clock).open_case(
            Anomaly(code=code, subject=subject, company=company, summary=summary))
        uow.commit()
    return case
