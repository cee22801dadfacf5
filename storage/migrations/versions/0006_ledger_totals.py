"""Push records keep the tax and total the ledger computed when it created the invoice.

Revision ID: 0006_ledger_totals
Revises: 0005_attachments
Create Date: 2026-12-03

Written by hand like 0001, with the types spelled out. Runs on SQLite and PostgreSQL. Both columns are empty for invoices pushed
before: the ledger's figures for those are read again by ``closeout reconcile``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_ledger_totals"
down_revision = "0005_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("push_records") as batch:
        batch.add_column(sa.Column("ledger_tax", sa.Numeric(14, 2), nullable=True))
        batch.add_column(sa.Column("ledger_total", sa.Numeric(14, 2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push_records") as batch:
        batch.drop_column("ledger_total")
        batch.drop_column("ledger_tax")
