"""Fixtures for the mail tests: one private Dovecot per session, one fresh folder per test."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from imapclient import IMAPClient

from dovecot_server import DOVECOT, PASSWORD, USER, DovecotServer

_folders = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot():
    if not Path(DOVECOT).exists():
        message = "Dovecot is not installed: run `make system-deps` (as root) or `make test`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = DovecotServer().start()
    yield server
    server.remove()


@pytest.fixture
def imap_admin(dovecot):
    """A plain imapclient session (over IMAPS) for seeding and changing the server, separate from the code under test."""
    client = IMAPClient("127.0.0.1", port=dovecot.imaps_port, ssl=True, timeout=10,
                        ssl_context=__import__("ssl").create_default_context(cafile=dovecot.ca_file))
    client.login(USER, PASSWORD)
    yield client
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the test may have killed the server
        pass


@pytest.fixture
def folder(imap_admin):
    """A new, empty folder for this test."""
    name = f"T{os.getpid()}-{next(_folders)}"
    imap_admin.create_folder(name)
    return name


# ---- the app, the store and the work orders mail is matched against ------------------------------

from services.config import CloseoutConfig  # noqa: E402
from services.mailbox_config import MailboxConfig  # noqa: E402
from closeout.settings import Settings  # noqa: E402
from closeout.wiring import App  # noqa: E402
from mail_factory import CUSTOMERS, work_order  # noqa: E402
from storage import open_store  # noqa: E402


@pytest.fixture
def app(tmp_path):
    config = CloseoutConfig.model_validate({"companies": [{"id": "acme", "name": "Acme HVAC",
                                                            "ledger": {"realm_id": "1"}}]})
    store = open_store(f"sqlite:///{tmp_path / 'closeout.db'}")
    with store.unit_of_work() as uow:
        for job, email in CUSTOMERS.items():
            uow.work_orders.save(work_order(job, email=email))
        uow.commit()
    yield App(settings=Settings(), config=config, store=store, home=tmp_path / "home")
    store.close()


@pytest.fixture
def company(app):
    return app.config.company("acme")


@pytest.fixture
def imap_mailbox(dovecot, folder):
    def make(**changes) -> MailboxConfig:
        fields = {"kind": "imap", "name": "field", "host": "127.0.0.1", "port": dovecot.imaps_port, "username": USER,
                  "ca_file": dovecot.ca_file, "folders": (folder,), "read_timeout": 5, "connect_timeout": 5}
        return MailboxConfig(**{**fields, **changes})
    return make


@pytest.fixture
def imap_password(monkeypatch):
    """The mailbox password where closeout.credentials.lookup looks first: the environment."""
    monkeypatch.setenv("CLOSEOUT_IMAP_PASSWORD_FIELD_ACME", PASSWORD)
