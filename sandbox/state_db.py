"""The SQLite machinery both ledger sandboxes share: WAL file, per-thread connection, transactions, fault queue."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox.chaos import CHAOS_SCHEMA, draw_chaos, drawn_counts, set_chaos

FAULT_KINDS = ("throttle", "server_error", "slow", "reset", "lost_response")
BUSY_TIMEOUT = 30.0


@dataclass(frozen=True)
class InjectedFault:
    kind: str  # one of FAULT_KINDS
    seconds: float


class StateDb:
    """One SQLite file (WAL journal, 30 s busy timeout), safe to share between threads and processes.

    A ledger store subclasses this and names its fault queue: ``SYSTEM`` (the chaos key, ``qbo`` or
    ``xero``), ``FAULTS_TABLE`` and ``COMPANY_COLUMN`` (the table's column naming the realm or tenant).
    That table must have ``seq`` (autoincrement), the company column, ``kind``, ``remaining`` and ``seconds``.
    """

    SYSTEM: str
    FAULTS_TABLE: str
    COMPANY_COLUMN: str

    def __init__(self, path: Path, schema: str) -> None:
        """Open ``path`` (creating its folder), switch it to WAL and run ``schema`` plus the chaos schema."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.path = path
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:  # switching to WAL takes an exclusive lock and does not wait for a busy one: retry
            db = self._connect()
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                db.executescript(schema + CHAOS_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            finally:
                db.close()
            time.sleep(0.05)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: commits survive a crash of the process
        return db

    def _thread_connection(self) -> sqlite3.Connection:
        """This thread's connection, kept open: closing the last connection checkpoints the WAL (an fsync,
        ~7 ms a call), so a connection per call made every sandbox request slow."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any exception."""
        db = self._thread_connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def pop_fault(self, db: sqlite3.Connection, company: str) -> InjectedFault | None:
        """Use up one queued fault of ``company`` (oldest first), else draw one by chance (sandbox.chaos)."""
        row = db.execute(
            f"SELECT seq, kind, seconds FROM {self.FAULTS_TABLE} WHERE {self.COMPANY_COLUMN} = ? AND remaining > 0 "
            "ORDER BY seq LIMIT 1", (company,)
        ).fetchone()
        if row is None:
            drawn = draw_chaos(db, self.SYSTEM, company)
            return InjectedFault(*drawn) if drawn else None
        db.execute(f"UPDATE {self.FAULTS_TABLE} SET remaining = remaining - 1 WHERE seq = ?", (row[0],))
        return InjectedFault(row[1], row[2])

    def set_chaos(self, company: str, *, rate: float, kinds: tuple[str, ...] = FAULT_KINDS,
                  seconds: float = 0.0) -> None:
        """Fail each later API call of ``company`` with probability ``rate`` (see sandbox.chaos)."""
        if set(kinds) - set(FAULT_KINDS):
            raise ValueError(f"unknown fault kinds; expected some of {FAULT_KINDS}")
        with self.transaction() as db:
            set_chaos(db, self.SYSTEM, company, rate=rate, kinds=tuple(kinds), seconds=seconds)

    def chaos_drawn(self, company: str) -> dict[str, int]:
        """How many calls of ``company`` chaos has failed so far, by fault kind (the fault campaign's counts)."""
        with self.transaction() as db:
            return drawn_counts(db, self.SYSTEM, company)

    def add_fault(self, company: str, kind: str, *, count: int = 1, seconds: float = 0.0) -> None:
        """Make the next ``count`` API requests of ``company`` fail this way (queued after earlier faults)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        with self.transaction() as db:
            db.execute(f"INSERT INTO {self.FAULTS_TABLE} ({self.COMPANY_COLUMN}, kind, remaining, seconds) "
                       "VALUES (?, ?, ?, ?)", (company, kind, count, seconds))
