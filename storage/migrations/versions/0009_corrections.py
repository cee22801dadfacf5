"""Corrections: each ledger operation of a correction after invoicing, recorded before it is sent.

Revision ID: 0009_corrections
Revises: 0008_webhook_deliveries
Create Date: 2026-12-04

Written by hand like 0001. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_corrections"
down_revision = "0008_webhook_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    money = sa.Numeric(14, 2)
    op.create_table(
        "corrections",
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
        sa.Column("amount", money, nullable=False),
        sa.Column("draft", json, nullable=True),
        sa.Column("target", json, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ledger_id", sa.String(128), nullable=True),
        sa.Column("ledger_total", money, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_corrections"),
    )
    op.create_index("ix_corrections_work_order_id", "corrections", ["work_order_id"])
    op.create_index("ix_corrections_status", "corrections", ["status"])


def downgrade() -> None:
    op.drop_index("ix_corrections_status", table_name="corrections")
    op.drop_index("ix_corrections_work_order_id", table_name="corrections")
    op.drop_table("corrections")
