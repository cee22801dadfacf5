"""Cutovers: what a company said about the books it kept before Closeout (``closeout cutover``).

Revision ID: 0012_cutovers
Revises: 0011_notifications
Create Date: 2026-12-04

Written by hand like 0001. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_cutovers"
down_revision = "0011_notifications"
branch_labels = None
depends_on = None

SURROGATE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cutovers",
        sa.Column("id", SURROGATE_ID, autoincrement=True, nullable=False),
        sa.Column("company", sa.String(64), nullable=False),
        sa.Column("invoiced_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("jobs", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("recorded_by", sa.String(255), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cutovers"),
    )
    op.create_index("ix_cutovers_company", "cutovers", ["company"])


def downgrade() -> None:
    op.drop_index("ix_cutovers_company", table_name="cutovers")
    op.drop_table("cutovers")
