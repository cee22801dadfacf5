"""The store's tables (SQLAlchemy Core); ``migrations/versions`` creates exactly these, by hand."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.column_types import Money, UtcDateTime, id_type, json_type

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

raw_payloads = sa.Table(
    "raw_payloads",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("stream", sa.String(128), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("locator", sa.Text(), nullable=False),
    sa.Column("payload", json_type(), nullable=False),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    # Arrival order within one job: the highest revision is the job's current content, even when an
    # earlier content comes back (A, B, A) and its existing row is revived instead of copied.
    sa.Column("revision", sa.Integer(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("last_received_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("source", "external_id", "payload_hash"),
    sa.Index(None, "source", "external_id", "revision", unique=True),
)

work_order_versions = sa.Table(
    "work_order_versions",
    metadata,
    sa.Column("work_order_id", sa.String(300), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("company", sa.String(128), nullable=False),
    sa.Column("job_number", sa.String(128), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("snapshot", json_type(), nullable=False),
    sa.Column("stored_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("work_order_id", "version"),
    sa.Index(None, "company"),
)

rule_decisions = sa.Table(
    "rule_decisions",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("rule_id", sa.String(128), nullable=False),
    sa.Column("rule_version", sa.Integer(), nullable=False),
    sa.Column("work_order_id", sa.String(300), nullable=False),
    sa.Column("work_order_version", sa.Integer(), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("evidence", json_type(), nullable=False),
    sa.Column("run_id", sa.String(128), nullable=False),
    sa.Column("decided_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["work_order_id", "work_order_version"],
        ["work_order_versions.work_order_id", "work_order_versions.version"],
    ),
    sa.Index(None, "work_order_id", "work_order_version"),
    sa.Index(None, "outcome"),
)

push_records = sa.Table(
    "push_records",
    metadata,
    sa.Column("idempotency_key", sa.String(64), nullable=False),
    sa.Column("company", sa.String(128), nullable=False),
    sa.Column("ledger", sa.String(32), nullable=False),
    sa.Column("work_order_id", sa.String(300), nullable=False),
    sa.Column("work_order_version", sa.Integer(), nullable=False),
    sa.Column("doc_number", sa.String(64), nullable=False),
    sa.Column("amount", Money(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("draft", json_type(), nullable=False),
    sa.Column("ledger_id", sa.String(128), nullable=True),
    sa.Column("ledger_tax", Money(), nullable=True),  # migration 0006: the tax and total the ledger computed
    sa.Column("ledger_total", Money(), nullable=True),
    sa.Column("payment_state", sa.String(16), nullable=False, server_default=""),  # migration 0007
    sa.Column("ledger_balance", Money(), nullable=True),
    sa.Column("payment_read_at", UtcDateTime(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("idempotency_key"),
    sa.ForeignKeyConstraint(
        ["work_order_id", "work_order_version"],
        ["work_order_versions.work_order_id", "work_order_versions.version"],
    ),
    sa.Index(None, "ledger", "status", "company"),
    sa.Index(None, "work_order_id"),
    sa.Index(None, "ledger", "ledger_id"),  # migration 0007: one ledger id is never recorded for two drafts
)

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("stream", sa.String(255), nullable=False),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("stream"),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("company", sa.String(128), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Column("work_order_id", sa.String(300), nullable=True),
    sa.Column("work_order_version", sa.Integer(), nullable=True),
    sa.Column("evidence", json_type(), nullable=False),
    sa.Column("suggested_actions", json_type(), nullable=False),
    sa.Column("assignee", sa.String(255), nullable=True),
    sa.Column("tags", json_type(), nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index(None, "kind", "subject", "status"),
    sa.Index(None, "status"),
    sa.Index(None, "company"),
    sa.Index(None, "work_order_id"),
)

case_history = sa.Table(
    "case_history",
    metadata,
    sa.Column("case_id", id_type(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("before", json_type(), nullable=False),
    sa.Column("after", json_type(), nullable=False),
    sa.PrimaryKeyConstraint("case_id", "seq"),
    sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
    sa.Index(None, "at"),
)

# The queue's people and decisions (migration 0003_queue_users).
users = sa.Table(
    "users",
    metadata,
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("email", sa.String(254), nullable=True),  # migration 0011_notifications: where notifications go
    sa.Column("companies", json_type(), nullable=True),  # migration 0013_user_companies: NULL or [] = every company
    sa.PrimaryKeyConstraint("username"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("label", sa.String(255), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("digest"),
    sa.ForeignKeyConstraint(["username"], ["users.username"]),
)

mapping_overrides = sa.Table(
    "mapping_overrides",
    metadata,
    sa.Column("company", sa.String(128), nullable=False),
    sa.Column("table_name", sa.String(32), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("value", sa.String(255), nullable=False),
    sa.Column("added_by", sa.String(255), nullable=False),
    sa.Column("added_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("company", "table_name", "key"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("before", json_type(), nullable=False),
    sa.Column("after", json_type(), nullable=False),
)


def insert_for(session: sa.orm.Session, table: sa.Table) -> Any:
    """The dialect's own INSERT, which knows ``ON CONFLICT`` (SQLite and PostgreSQL spell it alike)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql_insert(table)
    if dialect == "sqlite":
        return sqlite_insert(table)
    raise NotImplementedError(f"the store runs on SQLite or PostgreSQL, not {dialect}")

# Corrections (migration 0009_corrections): each ledger operation of a correction after invoicing, recorded
# before it is sent, so it is sent once and an uncertain one is looked up first (workorders.correction_steps).
corrections = sa.Table(
    "corrections",
    metadata,
    sa.Column("key", sa.String(400), nullable=False),
    sa.Column("request_key", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("company", sa.String(128), nullable=False),
    sa.Column("ledger", sa.String(32), nullable=False),
    sa.Column("work_order_id", sa.String(300), nullable=False),
    sa.Column("from_version", sa.Integer(), nullable=False),
    sa.Column("to_version", sa.Integer(), nullable=False),
    sa.Column("doc_number", sa.String(64), nullable=False),
    sa.Column("invoice_ledger_id", sa.String(128), nullable=False),
    sa.Column("amount", Money(), nullable=False),
    sa.Column("draft", json_type(), nullable=True),
    sa.Column("target", json_type(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("ledger_id", sa.String(128), nullable=True),
    sa.Column("ledger_total", Money(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=False),
    sa.Column("case_id", sa.Integer(), nullable=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("key"),
    sa.Index(None, "work_order_id"),
    sa.Index(None, "status"),
)

# Mail (migration 0004_mail): messages read from mailboxes, their attachments, their matches, and each poll.
mail_messages = sa.Table(
    "mail_messages",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("company", sa.String(128), nullable=False),
    sa.Column("mailbox", sa.String(128), nullable=False),
    sa.Column("folder", sa.String(255), nullable=False),
    sa.Column("uid_validity", sa.BigInteger(), nullable=False),
    sa.Column("uid", sa.BigInteger(), nullable=False),
    sa.Column("message_id", sa.String(500), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("subject", sa.Text(), nullable=False),
    sa.Column("from_address", sa.String(320), nullable=False),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("raw_path", sa.Text(), nullable=False),
    sa.Column("problems", json_type(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("company", "message_id", "content_hash"),
    sa.Index(None, "company", "message_id"),
)

mail_attachments = sa.Table(
    "mail_attachments",
    metadata,
    sa.Column("message_pk", id_type(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("media_type", sa.String(128), nullable=False),
    sa.Column("size_bytes", sa.BigInteger(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("skipped", sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint("message_pk", "seq"),
    sa.ForeignKeyConstraint(["message_pk"], ["mail_messages.id"]),
)

mail_matches = sa.Table(
    "mail_matches",
    metadata,
    sa.Column("message_pk", id_type(), nullable=False),
    sa.Column("work_order_id", sa.String(300), nullable=False),
    sa.Column("job_number", sa.String(128), nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("confidence", sa.Float(), nullable=False),
    sa.Column("explanation", sa.Text(), nullable=False),
    sa.Column("evidence", json_type(), nullable=False),
    sa.Column("matched_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("message_pk"),
    sa.ForeignKeyConstraint(["message_pk"], ["mail_messages.id"]),
    sa.Index(None, "work_order_id"),
)

mail_polls = sa.Table(
    "mail_polls",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("company", sa.String(128), nullable=False),
    sa.Column("mailbox", sa.String(128), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("fetched", sa.Integer(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Index(None, "company", "mailbox", "outcome", "at"),
)

# Push evidence (migration 0005_attachments): per push record, each file to attach to its invoice (``item`` is
# the file's content hash) and the e-mail to send (``item`` = "email"), with their outcome and attempts.
push_evidence = sa.Table(
    "push_evidence",
    metadata,
    sa.Column("idempotency_key", sa.String(64), nullable=False),
    sa.Column("item", sa.String(64), nullable=False),
    sa.Column("company", sa.String(128), nullable=False),
    sa.Column("ledger", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("target", sa.String(320), nullable=False),
    sa.Column("media_type", sa.String(128), nullable=False),
    sa.Column("size_bytes", sa.BigInteger(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("ledger_ref", sa.String(128), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("idempotency_key", "item"),
    sa.ForeignKeyConstraint(["idempotency_key"], ["push_records.idempotency_key"]),
    sa.Index(None, "company", "ledger", "status"),
)

# Webhook deliveries (migration 0008_webhook_deliveries): the digest of each signed delivery accepted lately, so
# the same one sent again is not pulled twice, by any receiver process, across restarts.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("digest"),
    sa.Index(None, "received_at"),
)

# Web sessions (migration 0010_web_sessions): each live sign-in of the queue's UI by the digest of its id (the id
# is only in the signed cookie), so every UI process honours it, a sign-out anywhere ends it, and a restart keeps it.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("digest"),
    sa.ForeignKeyConstraint(["username"], ["users.username"], ondelete="CASCADE"),
    sa.Index(None, "expires_at"),
)

# Failed sign-ins (migration 0010_web_sessions): one row per failure per throttle key (a digest of the username or
# of the address), kept for the throttle's window, so every UI process counts the same failures.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("failed_at", UtcDateTime(), nullable=False),
    sa.Index(None, "key", "failed_at"),
    sa.Index(None, "failed_at"),
)

# Notifications (migration 0011_notifications): each one recorded under its deterministic key before it is sent,
# so it is sent once, retried with backoff across runs, and a last failure stays here (and on its case).
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("company", sa.String(64), nullable=False),
    sa.Column("case_id", id_type(), nullable=True),
    sa.Column("recipient", sa.String(2048), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.String(512), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.UniqueConstraint("key"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "case_id"),
)

# Cutovers (migration 0012_cutovers): what a company said about the books it kept before Closeout, one row per
# `closeout cutover`: jobs completed before a date, or listed, were invoiced elsewhere (rule invoiced_elsewhere).
cutovers = sa.Table(
    "cutovers",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("company", sa.String(64), nullable=False),
    sa.Column("invoiced_before", UtcDateTime(), nullable=True),
    sa.Column("jobs", json_type(), nullable=False),
    sa.Column("recorded_by", sa.String(255), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.Index(None, "company"),
)
