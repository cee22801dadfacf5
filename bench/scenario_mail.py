"""Scenario 4, mail: ingest a mailbox from a private Dovecot (fetch, parse, thread, match, store), then a quiet poll.

Compared with two floors measured in the same run (``bench.floors``), just before and just after the ingest (their
mean): a bare imapclient fetch of the same messages (``BODY.PEEK[]``, 500 a command, nothing else done) and the
same fetch with ``email.message_from_bytes`` on each message (the parse floor). Targets: the ingest at least 0.5
of the parse floor and 0.25 of the bare fetch; the absolute rate is printed too. The quiet poll is a second ingest
with nothing new, timed from connecting to the recorded poll, with the IMAP commands it sent counted by the inbox.
"""

from __future__ import annotations

import ssl
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from imapclient import IMAPClient

from bench.floors import imap_fetch_seconds
from bench.mail_data import COMPANY, load_mailbox, work_orders
from bench.measure import Measure
from services.config import CloseoutConfig
from services.mailbox_config import MailboxConfig
from closeout.settings import Settings
from services.mail.ingest import ingest_mailbox
from closeout.wiring import App
from connectors.imap_inbox import ImapInbox
from sandbox.dovecot_server import DOVECOT, PASSWORD, USER, DovecotServer
from storage import open_store
from storage.tables import mail_messages

SIZES = {"full": (5000, 1000), "tiny": (60, 20)}  # messages, work orders
FOLDER = "Bench"
TARGET_RATE, TARGET_COMMANDS, TARGET_POLL_MS = 1000.0, 4, 50.0
TARGET_PARSE_RATIO, TARGET_BARE_RATIO = 0.5, 0.25
SCENARIO = "mail"


def run(size: str) -> list[Measure]:
    count, jobs = SIZES[size]
    if not Path(DOVECOT).exists():
        raise RuntimeError("Dovecot is not installed: run `make test` (as root) to install dovecot-imapd")
    server = DovecotServer().start()
    try:
        with _admin(server) as admin:
            load_mailbox(admin, FOLDER, count, jobs)
            admin.folder_status(FOLDER, ["MESSAGES", "UIDNEXT"])  # Dovecot indexes the new mail now, not in a timed read
        floors = [_floors(server, count)]
        with tempfile.TemporaryDirectory(prefix="closeout-bench-mail-") as folder:
            app = _app(Path(folder), jobs)
            try:
                mailbox = MailboxConfig(kind="imap", name="bench", host="127.0.0.1", port=server.imaps_port,
                                        username=USER, ca_file=server.ca_file, folders=(FOLDER,))
                started = time.perf_counter()
                counts = ingest_mailbox(app, app.config.companies[0], mailbox, inbox=_inbox(server))
                ingest = time.perf_counter() - started
                _check(app, counts, count)
                poll_inbox = _inbox(server)
                started = time.perf_counter()
                quiet = ingest_mailbox(app, app.config.companies[0], mailbox, inbox=poll_inbox)
                poll_ms = (time.perf_counter() - started) * 1000
                if quiet.fetched:
                    raise RuntimeError(f"the quiet poll fetched {quiet.fetched} messages")
            finally:
                app.store.close()
        floors.append(_floors(server, count))
    finally:
        server.remove()
    rate = count / ingest
    bare_rate = count / (sum(bare for bare, _ in floors) / len(floors))
    parse_rate = count / (sum(parse for _, parse in floors) / len(floors))
    return [
        Measure(SCENARIO, f"bare fetch floor ({count:,} messages; mean of a read before and after)", bare_rate,
                "msg/s", None, "", None, "", None),
        Measure(SCENARIO, f"parse floor ({count:,} messages: the fetch + email.message_from_bytes)", parse_rate,
                "msg/s", None, "", None, "", None),
        Measure(SCENARIO, "ingest vs the parse floor", rate, "msg/s", parse_rate,
                "parse floor: bare fetch + email.message_from_bytes", rate / parse_rate,
                f"≥ {TARGET_PARSE_RATIO} of the floor", rate / parse_rate >= TARGET_PARSE_RATIO),
        Measure(SCENARIO, "ingest vs a bare imapclient fetch of the same messages", rate, "msg/s", bare_rate,
                "bare imapclient fetch", rate / bare_rate, f"≥ {TARGET_BARE_RATIO} of the floor",
                rate / bare_rate >= TARGET_BARE_RATIO),
        Measure(SCENARIO, f"messages/s ingested ({count:,} messages: fetch, parse, thread, match, store)", rate,
                "msg/s", TARGET_RATE, "target", rate / TARGET_RATE, "≥ 1,000/s (idle machine)",
                rate >= TARGET_RATE),
        Measure(SCENARIO, "IMAP commands of a poll with no new mail", poll_inbox.commands, "commands",
                TARGET_COMMANDS, "target", poll_inbox.commands / TARGET_COMMANDS, "≤ 4",
                poll_inbox.commands <= TARGET_COMMANDS),
        Measure(SCENARIO, "wall time of a poll with no new mail", poll_ms, "ms", TARGET_POLL_MS, "target",
                poll_ms / TARGET_POLL_MS, "≤ 50 ms", poll_ms <= TARGET_POLL_MS),
    ]


def _admin(server: DovecotServer) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=server.imaps_port, ssl=True, timeout=60,
                        ssl_context=ssl.create_default_context(cafile=server.ca_file))
    client.login(USER, PASSWORD)
    return client


def _inbox(server: DovecotServer) -> ImapInbox:
    return ImapInbox("127.0.0.1", server.imaps_port, USER, PASSWORD, ca_file=server.ca_file, name="bench")


def _floors(server: DovecotServer, count: int) -> tuple[float, float]:
    """Seconds of the bare fetch and of the parse floor, one after the other."""
    args = ("127.0.0.1", server.imaps_port, server.ca_file, USER, PASSWORD, FOLDER, count)
    return imap_fetch_seconds(*args), imap_fetch_seconds(*args, parse=True)


def _app(home: Path, jobs: int) -> App:
    store = open_store(f"sqlite:///{home / 'closeout.db'}")
    with store.unit_of_work() as uow:
        for order in work_orders(jobs):
            uow.work_orders.save(order)
        uow.commit()
    config = CloseoutConfig.model_validate({"companies": [{"id": COMPANY, "name": "Bench Heating",
                                                            "ledger": {"realm_id": "1"}}]})
    return App(settings=Settings(home=home), config=config, store=store, home=home)


def _check(app: App, counts, count: int) -> None:
    """Nothing lost: every message fetched, stored once, and either attached to its job or in the queue."""
    placed = counts.matched + counts.unmatched + counts.unparseable
    if counts.fetched != count or counts.duplicates or placed != count:
        raise RuntimeError(f"the ingest lost or doubled mail: {counts}")
    with app.store.engine.connect() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(mail_messages)).scalar_one()
    if stored != count:
        raise RuntimeError(f"{stored} of {count} messages are stored")
