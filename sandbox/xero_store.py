"""SQLite state of the Xero sandbox: tenants (seeded on first use), settings, documents, key replies, faults."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.state_db import StateDb
from sandbox.xero_org import default_settings, merge_settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS xero_tenants (tenant TEXT PRIMARY KEY, requests INTEGER NOT NULL DEFAULT 0,
    next_number INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS xero_docs (tenant TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
    seq INTEGER NOT NULL, number TEXT, body TEXT NOT NULL, PRIMARY KEY (tenant, kind, id));
CREATE INDEX IF NOT EXISTS xero_docs_number ON xero_docs (tenant, kind, number);
CREATE INDEX IF NOT EXISTS xero_docs_seq ON xero_docs (tenant, seq);
CREATE TABLE IF NOT EXISTS xero_key_replies (scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL, body TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS xero_settings (tenant TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS xero_faults (seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL,
    kind TEXT NOT NULL, remaining INTEGER NOT NULL, seconds REAL NOT NULL DEFAULT 0);
"""

# Seeded into every new tenant: (code, name, sales account, unit price). Documented in sandbox.xero_app.
SEED_ITEMS = [
    ("LABOUR", "Labour", "200", "95.00"),
    ("PARTS", "Parts", "200", "0"),
    ("MATERIALS", "Materials", "200", "0"),
    ("FEE", "Service fee", "260", "75.00"),
    ("DISCOUNT", "Discount", "200", "0"),
]
REPLAY_SECONDS = 6 * 60  # Xero keeps an Idempotency-Key's answer for 6 minutes (ledgers.md §2.2)


@dataclass(frozen=True)
class StoredReply:
    fingerprint: str
    status: int
    body: str


def dumps(value: Any) -> str:
    return json.dumps(value, default=lambda v: float(v) if isinstance(v, Decimal) else str(v), separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


class TenantView:
    """The documents of one tenant inside one open transaction."""

    def __init__(self, db: sqlite3.Connection, tenant: str) -> None:
        self.db, self.tenant = db, tenant

    def get(self, kind: str, ident: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT body FROM xero_docs WHERE tenant = ? AND kind = ? AND id = ?",
                              (self.tenant, kind, ident.lower())).fetchone()
        return loads(row[0]) if row else None

    def all(self, kind: str) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT body FROM xero_docs WHERE tenant = ? AND kind = ? ORDER BY seq",
                              (self.tenant, kind))
        return [loads(body) for (body,) in cur]

    def by_number(self, kind: str, number: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT body FROM xero_docs WHERE tenant = ? AND kind = ? AND number = ?",
                              (self.tenant, kind, number)).fetchone()
        return loads(row[0]) if row else None

    def put(self, kind: str, ident: str, body: dict[str, Any], *, number: str | None = None) -> None:
        seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM xero_docs WHERE tenant = ?",
                              (self.tenant,)).fetchone()[0]
        self.db.execute(
            "INSERT INTO xero_docs (tenant, kind, id, seq, number, body) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant, kind, id) DO UPDATE SET number = excluded.number, body = excluded.body",
            (self.tenant, kind, ident.lower(), seq, number, dumps(body)))

    def settings(self) -> dict[str, Any]:
        """The organisation's settings (sandbox.xero_org), the defaults until the admin route sets some."""
        row = self.db.execute("SELECT body FROM xero_settings WHERE tenant = ?", (self.tenant,)).fetchone()
        return {**default_settings(), **json.loads(row[0])} if row else default_settings()

    def next_invoice_number(self) -> str:
        number = self.db.execute("SELECT next_number FROM xero_tenants WHERE tenant = ?", (self.tenant,)).fetchone()[0]
        self.db.execute("UPDATE xero_tenants SET next_number = next_number + 1 WHERE tenant = ?", (self.tenant,))
        return f"INV-{number:04d}"


class XeroStore(StateDb):
    """One SQLite file under ``state_dir`` (see StateDb); every API call is one ``BEGIN IMMEDIATE`` transaction."""

    SYSTEM, FAULTS_TABLE, COMPANY_COLUMN = "xero", "xero_faults", "tenant"

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir / "xero.sqlite3", _SCHEMA)

    def open_tenant(self, db: sqlite3.Connection, tenant: str) -> TenantView:
        view = TenantView(db, tenant)
        created = db.execute("INSERT OR IGNORE INTO xero_tenants (tenant) VALUES (?)", (tenant,)).rowcount
        db.execute("UPDATE xero_tenants SET requests = requests + 1 WHERE tenant = ?", (tenant,))
        if created:
            for code, name, account, price in SEED_ITEMS:
                ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-sandbox/{tenant}/item/{code}"))
                view.put("Item", ident, {"ItemID": ident, "Code": code, "Name": name, "IsSold": True,
                                         "IsPurchased": False,
                                         "SalesDetails": {"UnitPrice": Decimal(price), "AccountCode": account}},
                         number=code)
        return view

    def reply_for(self, db: sqlite3.Connection, scope: str, key: str) -> StoredReply | None:
        """The answer first given to ``key`` within ``scope`` (the app, see sandbox.xero_app), if still kept."""
        row = db.execute("SELECT fingerprint, status, body, created FROM xero_key_replies WHERE scope = ? AND key = ?",
                         (scope, key)).fetchone()
        if row is None or time.time() - row[3] > REPLAY_SECONDS:
            return None
        return StoredReply(row[0], row[1], row[2])

    def save_reply(self, db: sqlite3.Connection, scope: str, key: str, reply: StoredReply) -> None:
        db.execute("INSERT OR REPLACE INTO xero_key_replies (scope, key, fingerprint, status, body, created) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (scope, key, reply.fingerprint, reply.status, reply.body, time.time()))

    def settings(self, tenant: str) -> dict[str, Any]:
        with self.transaction() as db:
            return TenantView(db, tenant).settings()

    def update_settings(self, tenant: str, spec: Any) -> dict[str, Any]:
        """Apply ``spec`` (sandbox.xero_org.merge_settings; SettingsError when unusable) and return the result."""
        with self.transaction() as db:
            merged = merge_settings(TenantView(db, tenant).settings(), spec)
            db.execute("INSERT OR REPLACE INTO xero_settings (tenant, body) VALUES (?, ?)",
                       (tenant, json.dumps(merged)))
        return merged

    def stats(self, tenant: str) -> dict[str, Any]:
        with self.transaction() as db:
            view = TenantView(db, tenant)
            invoices = view.all("Invoice")
            numbers = [inv.get("InvoiceNumber") for inv in invoices]
            credits = [credit.get("CreditNoteNumber") for credit in view.all("CreditNote")]
            requests = db.execute("SELECT requests FROM xero_tenants WHERE tenant = ?", (tenant,)).fetchone()
        return {"tenant": tenant, "invoices": len(invoices), "contacts": len(view_rows(self, tenant, "Contact")),
                "requests": requests[0] if requests else 0,
                "duplicate_invoice_numbers": len(numbers) - len(set(numbers)),
                "credit_notes": len(credits), "duplicate_credit_note_numbers": len(credits) - len(set(credits)),
                "invoice_total": str(sum((Decimal(str(inv["Total"])) for inv in invoices), Decimal(0)))}


def view_rows(store: XeroStore, tenant: str, kind: str) -> list[dict[str, Any]]:
    with store.transaction() as db:
        return TenantView(db, tenant).all(kind)
