"""The store's first schema: raw landing, work order versions, rule decisions, push records, cursors, cases.

Revision ID: 0001
Revises:
Create Date: 2025-11-22

Written by hand, with the types spelled out here rather than imported, so later changes to
``storage.tables`` never rewrite history. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SURROGATE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _moment(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "raw_payloads",
        sa.Column("id", SURROGATE_ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(128), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("locator", sa.Text(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _moment("received_at"),
        _moment("last_received_at"),
        sa.PrimaryKeyConstraint("id", name="pk_raw_payloads"),
        sa.UniqueConstraint(
            "source", "external_id", "payload_hash", name="uq_raw_payloads_source_external_id_payload_hash"
        ),
    )
    op.create_index(
        "ix_raw_payloads_source_external_id_revision",
        "raw_payloads",
        ["source", "external_id", "revision"],
        unique=True,
    )

    op.create_table(
        "work_order_versions",
        sa.Column("work_order_id", sa.String(300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("company", sa.String(128), nullable=False),
        sa.Column("job_number", sa.String(128), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("snapshot", JSON, nullable=False),
        _moment("stored_at"),
        sa.PrimaryKeyConstraint("work_order_id", "version", name="pk_work_order_versions"),
    )
    op.create_index("ix_work_order_versions_company", "work_order_versions", ["company"])

    op.create_table(
        "rule_decisions",
        sa.Column("id", SURROGATE_ID, autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.String(300), nullable=False),
        sa.Column("work_order_version", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("run_id", sa.String(128), nullable=False),
        _moment("decided_at"),
        sa.PrimaryKeyConstraint("id", name="pk_rule_decisions"),
        sa.ForeignKeyConstraint(
            ["work_order_id", "work_order_version"],
            ["work_order_versions.work_order_id", "work_order_versions.version"],
            name="fk_rule_decisions_work_order_versions",
        ),
    )
    op.create_index(
        "ix_rule_decisions_work_order_id_work_order_version",
        "rule_decisions",
        ["work_order_id", "work_order_version"],
    )
    op.create_index("ix_rule_decisions_outcome", "rule_decisions", ["outcome"])

    op.create_table(
        "push_records",
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("company", sa.String(128), nullable=False),
        sa.Column("ledger", sa.String(32), nullable=False),
        sa.Column("work_order_id", sa.String(300), nullable=False),
        sa.Column("work_order_version", sa.Integer(), nullable=False),
        sa.Column("doc_number", sa.String(64), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("draft", JSON, nullable=False),
        sa.Column("ledger_id", sa.String(128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        _moment("created_at"),
        _moment("updated_at"),
        sa.PrimaryKeyConstraint("idempotency_key", name="pk_push_records"),
        sa.ForeignKeyConstraint(
            ["work_order_id", "work_order_version"],
            ["work_order_versions.work_order_id", "work_order_versions.version"],
            name="fk_push_records_work_order_versions",
        ),
    )
    op.create_index(
        "ix_push_records_ledger_status_company", "push_records", ["ledger", "status", "company"]
    )
    op.create_index("ix_push_records_work_order_id", "push_records", ["work_order_id"])

    op.create_table(
        "cursors",
        sa.Column("stream", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _moment("updated_at"),
        sa.PrimaryKeyConstraint("stream", name="pk_cursors"),
    )

    op.create_table(
        "cases",
        sa.Column("id", SURROGATE_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("company", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("work_order_id", sa.String(300), nullable=True),
        sa.Column("work_order_version", sa.Integer(), nullable=True),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("suggested_actions", JSON, nullable=False),
        sa.Column("assignee", sa.String(255), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        _moment("opened_at"),
        _moment("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
    )
    op.create_index("ix_cases_kind_subject_status", "cases", ["kind", "subject", "status"])
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_company", "cases", ["company"])
    op.create_index("ix_cases_work_order_id", "cases", ["work_order_id"])

    op.create_table(
        "case_history",
        sa.Column("case_id", SURROGATE_ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        _moment("at"),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("before", JSON, nullable=False),
        sa.Column("after", JSON, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", name="pk_case_history"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_history_cases"),
    )


def downgrade() -> None:
    for table in (
        "case_history",
        "cases",
        "cursors",
        "push_records",
        "rule_decisions",
        "work_order_versions",
        "raw_payloads",
    ):
        op.drop_table(table)
