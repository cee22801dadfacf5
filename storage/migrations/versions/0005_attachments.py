"""Push evidence: per push record, each sign-off or photo to attach to its invoice and the e-mail to send.

Revision ID: 0005_attachments
Revises: 0004_mail
Create Date: 2026-11-30

Written by hand like 0001. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_attachments"
down_revision = "0004_mail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_evidence",
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
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", "item", name="pk_push_evidence"),
        sa.ForeignKeyConstraint(["idempotency_key"], ["push_records.idempotency_key"],
                                name="fk_push_evidence_push_records"),
    )
    op.create_index("ix_push_evidence_company_ledger_status", "push_evidence", ["company", "ledger", "status"])


def downgrade() -> None:
    op.drop_index("ix_push_evidence_company_ledger_status", table_name="push_evidence")
    op.drop_table("push_evidence")
