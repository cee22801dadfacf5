"""SQLite state of the QBO sandbox: realms (seeded on first use), entities, requestid replies, injected faults."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.qbo_wire import Reply, dumps, loads, now_stamp
from sandbox.qbo_settings import apply_settings, check_settings, read_settings, seed_lists
from sandbox.state_db import StateDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS realms (realm TEXT PRIMARY KEY, created_at TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS entities (realm TEXT NOT NULL, entity TEXT NOT NULL, id TEXT NOT NULL,
    doc_number TEXT, name_key TEXT, body TEXT NOT NULL, PRIMARY KEY (realm, entity, id));
CREATE INDEX IF NOT EXISTS entities_doc ON entities (realm, entity, doc_number);
CREATE INDEX IF NOT EXISTS entities_name ON entities (realm, entity, name_key);
CREATE TABLE IF NOT EXISTS replies (realm TEXT NOT NULL, request_id TEXT NOT NULL, status INTEGER NOT NULL,
    content_type TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (realm, request_id));
CREATE TABLE IF NOT EXISTS faults (seq INTEGER PRIMARY KEY AUTOINCREMENT, realm TEXT NOT NULL,
    kind TEXT NOT NULL, remaining INTEGER NOT NULL, seconds REAL NOT NULL DEFAULT 0);
"""

# Seed of every new realm; documented in sandbox.qbo_app. (id, name, type, income account, unit price)
SEED_ACCOUNTS = [
    ("1", "Services", "Income"),
    ("2", "Sales of Product Income", "Income"),
    ("3", "Discounts given", "Income"),
    ("4", "Inventory Asset", "Other Current Asset"),
    ("5", "Cost of Goods Sold", "Cost of Goods Sold"),
]
SEED_ITEMS = [
    ("1", "Labour", "Service", "1", "95.00"),
    ("2", "Parts", "NonInventory", "2", "0"),
    ("3", "Materials", "NonInventory", "2", "0"),
    ("4", "Service fee", "Service", "1", "75.00"),
    ("5", "Discount", "Service", "3", "0"),
    ("6", "After-hours labour", "Service", "1", "142.50"),
    ("7", "Travel", "Service", "1", "45.00"),
]
def _meta() -> dict[str, str]:
    stamp = now_stamp()
    return {"CreateTime": stamp, "LastUpdatedTime": stamp}


class RealmView:
    """The entities of one realm inside one open transaction."""

    def __init__(self, db: sqlite3.Connection, realm: str) -> None:
        self.db, self.realm = db, realm

    def get(self, entity: str, ident: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT body FROM entities WHERE realm = ? AND entity = ? AND id = ?", (self.realm, entity, str(ident))
        ).fetchone()
        return loads(row[0]) if row else None

    def rows(self, entity: str) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT body FROM entities WHERE realm = ? AND entity = ?", (self.realm, entity))
        return [loads(body) for (body,) in cur]

    def doc_number_owner(self, doc_number: str, *, entity: str, exclude: str | None = None) -> tuple[str, str] | None:
        """``(entity, id)`` of another Invoice or CreditMemo already carrying this DocNumber (compared exactly), the
        one being saved (``entity`` with id ``exclude``) left out; invoices first, then by id."""
        row = self.db.execute(
            "SELECT entity, id FROM entities WHERE realm = ? AND entity IN ('Invoice', 'CreditMemo')"
            " AND doc_number = ? AND NOT (entity = ? AND id = ?) ORDER BY entity DESC, CAST(id AS INTEGER) LIMIT 1",
            (self.realm, doc_number, entity, exclude or ""),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def name_owner(self, entity: str, name: str, *, exclude: str | None = None) -> str | None:
        """The id of another ``entity`` with this name, ignoring case and surrounding spaces."""
        row = self.db.execute(
            "SELECT id FROM entities WHERE realm = ? AND entity = ? AND name_key = ? AND id != ?",
            (self.realm, entity, name.strip().casefold(), exclude or ""),
        ).fetchone()
        return row[0] if row else None

    def next_id(self, entity: str) -> str:
        (last,) = self.db.execute(
            "SELECT COALESCE(MAX(CAST(id AS INTEGER)), 0) FROM entities WHERE realm = ? AND entity = ?",
            (self.realm, entity),
        ).fetchone()
        return str(last + 1)

    def put(self, entity: str, body: dict[str, Any]) -> None:
        """Insert or replace ``body`` (which carries its ``Id``)."""
        name = body.get("DisplayName") or body.get("Name")
        self.db.execute(
            "INSERT OR REPLACE INTO entities (realm, entity, id, doc_number, name_key, body) VALUES (?, ?, ?, ?, ?, ?)",
            (self.realm, entity, str(body["Id"]), body.get("DocNumber"),
             name.strip().casefold() if isinstance(name, str) else None, dumps(body)),
        )

    def delete_all(self, entity: str) -> None:
        self.db.execute("DELETE FROM entities WHERE realm = ? AND entity = ?", (self.realm, entity))

    def seed(self) -> None:
        for ident, name, kind in SEED_ACCOUNTS:
            self.put("Account", {"Id": ident, "Name": name, "AccountType": kind, "Active": True,
                                 "SyncToken": "0", "domain": "QBO", "MetaData": _meta()})
        for ident, name, kind, account, price in SEED_ITEMS:
            self.put("Item", {"Id": ident, "Name": name, "FullyQualifiedName": name, "Type": kind, "Active": True,
                              "Taxable": kind != "Service", "UnitPrice": Decimal(price),
                              "IncomeAccountRef": {"value": account, "name": SEED_ACCOUNTS[int(account) - 1][1]},
                              "SyncToken": "0", "domain": "QBO", "MetaData": _meta()})
        seed_lists(self)  # settings, Preferences, CompanyInfo, tax codes and rates, classes, departments, terms


class QboStore(StateDb):
    """The sandbox state in ``state_dir/qbo.sqlite3``; safe to share between processes (see StateDb).

    Every API request runs in one ``BEGIN IMMEDIATE`` transaction (WAL journal, 30 s busy timeout), so
    writers in any number of threads or processes are serialised: a DocNumber or requestid check and the
    insert that follows it never interleave with another writer's.
    """

    SYSTEM, FAULTS_TABLE, COMPANY_COLUMN = "qbo", "faults", "realm"

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir / "qbo.sqlite3", _SCHEMA)

    def open_realm(self, db: sqlite3.Connection, realm: str, *, count: bool = True) -> RealmView:
        """Count one request for ``realm`` (unless ``count`` is false), creating and seeding the realm on first use."""
        created = db.execute(
            "INSERT OR IGNORE INTO realms (realm, created_at) VALUES (?, ?)", (realm, now_stamp())
        ).rowcount
        view = RealmView(db, realm)
        if created:
            view.seed()
        if count:
            db.execute("UPDATE realms SET requests = requests + 1 WHERE realm = ?", (realm,))
        return view

    def settings(self, realm: str, change: dict[str, Any] | None = None) -> dict[str, Any]:
        """The realm's company settings (sandbox.qbo_settings), after applying ``change`` if given.

        Raises ValueError for a malformed change; the realm is created (not counted as a request) if new.
        """
        with self.transaction() as db:
            view = self.open_realm(db, realm, count=False)
            current = read_settings(view)
            if change is None:
                return current
            new = check_settings(current, change)
            apply_settings(view, new)
            return new

    def reply_for(self, db: sqlite3.Connection, realm: str, request_id: str) -> Reply | None:
        row = db.execute(
            "SELECT status, body, content_type FROM replies WHERE realm = ? AND request_id = ?", (realm, request_id)
        ).fetchone()
        return Reply(row[0], row[1], row[2]) if row else None

    def save_reply(self, db: sqlite3.Connection, realm: str, request_id: str, reply: Reply) -> None:
        db.execute("INSERT INTO replies (realm, request_id, status, content_type, body) VALUES (?, ?, ?, ?, ?)",
                   (realm, request_id, reply.status, reply.content_type, reply.body))

    def stats(self, realm: str) -> dict[str, Any]:
        """Counts for the audit; ``duplicate_doc_numbers`` lists DocNumbers held by more than one invoice."""
        with self.transaction() as db:
            requests = db.execute("SELECT requests FROM realms WHERE realm = ?", (realm,)).fetchone()
            counts = dict(db.execute(
                "SELECT entity, COUNT(*) FROM entities WHERE realm = ? GROUP BY entity", (realm,)
            ).fetchall())
            duplicates = [doc for (doc,) in db.execute(
                "SELECT doc_number FROM entities WHERE realm = ? AND entity = 'Invoice' AND doc_number IS NOT NULL"
                " GROUP BY doc_number HAVING COUNT(*) > 1 ORDER BY doc_number", (realm,))]
            total = sum((Decimal(str(inv.get("TotalAmt", 0))) for inv in RealmView(db, realm).rows("Invoice")),
                        Decimal("0"))
        return {
            "realm": realm,
            "exists": requests is not None,
            "invoices": counts.get("Invoice", 0),
            "customers": counts.get("Customer", 0),
            "requests": requests[0] if requests else 0,
            "duplicate_doc_numbers": duplicates,
            "invoice_total": str(total),
        }
