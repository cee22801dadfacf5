"""Random fault injection shared by both sandboxes: each API call of a company fails with probability ``rate``.

Set per company (QBO realm or Xero tenant) with ``POST /_sandbox/{qbo|xero}/{company}/chaos``
``{"rate": 0.03, "kinds": ["server_error", "lost_response", ...], "seconds": 0.05}`` (rate 0 turns it off),
or ``set_chaos`` on the store. Queued faults (``/faults``) come first; chaos applies to the calls after.
"""

from __future__ import annotations

import json
import random
import sqlite3

CHAOS_SCHEMA = """
CREATE TABLE IF NOT EXISTS chaos (system TEXT NOT NULL, company TEXT NOT NULL, rate REAL NOT NULL,
    kinds TEXT NOT NULL, seconds REAL NOT NULL, PRIMARY KEY (system, company));
CREATE TABLE IF NOT EXISTS chaos_drawn (system TEXT NOT NULL, company TEXT NOT NULL, kind TEXT NOT NULL,
    n INTEGER NOT NULL, PRIMARY KEY (system, company, kind));
"""
_random = random.Random()


def _create_tables(db: sqlite3.Connection) -> None:
    for statement in CHAOS_SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def set_chaos(db: sqlite3.Connection, system: str, company: str, *, rate: float, kinds: tuple[str, ...],
              seconds: float) -> None:
    if not 0 <= rate <= 1 or not kinds or seconds < 0:
        raise ValueError("rate must be 0..1, kinds non-empty, seconds >= 0")
    _create_tables(db)
    db.execute("INSERT OR REPLACE INTO chaos (system, company, rate, kinds, seconds) VALUES (?, ?, ?, ?, ?)",
               (system, company, rate, json.dumps(list(kinds)), seconds))


def draw_chaos(db: sqlite3.Connection, system: str, company: str) -> tuple[str, float] | None:
    """``(kind, seconds)`` when this call should fail, else None."""
    row = db.execute("SELECT rate, kinds, seconds FROM chaos WHERE system = ? AND company = ?",
                     (system, company)).fetchone()
    if row is None or _random.random() >= row[0]:
        return None
    kind = _random.choice(json.loads(row[1]))
    db.execute("INSERT INTO chaos_drawn (system, company, kind, n) VALUES (?, ?, ?, 1) "
               "ON CONFLICT (system, company, kind) DO UPDATE SET n = n + 1", (system, company, kind))
    return kind, row[2]


def drawn_counts(db: sqlite3.Connection, system: str, company: str) -> dict[str, int]:
    """How many calls of ``company`` chaos has failed so far, by fault kind."""
    _create_tables(db)
    return dict(db.execute("SELECT kind, n FROM chaos_drawn WHERE system = ? AND company = ?", (system, company)))
