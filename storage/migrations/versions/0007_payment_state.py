"""Push records keep the invoice's payment state and balance as ``closeout reconcile`` last read them, and
are indexed by ledger id.

Revision ID: 0007_payment_state
Revises: 0006_ledger_totals
Create Date: 2026-12-04

Written by hand like 0006. Runs on SQLite and PostgreSQL. Invoices pushed before have no reading ("") until
the next ``closeout reconcile`` reads their ledger.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_payment_state"
down_revision = "0006_ledger_totals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("push_records") as batch:
        batch.add_column(sa.Column("payment_state", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("ledger_balance", sa.Numeric(14, 2), nullable=True))
        batch.add_column(sa.Column("payment_read_at", sa.DateTime(timezone=True), nullable=True))
    # the push checks that no ledger id is recorded for two drafts (services.push.pusher)
    op.create_index("ix_push_records_ledger_ledger_id", "push_records", ["ledger", "ledger_id"])


def downgrade() -> None:
    op.drop_index("ix_push_records_ledger_ledger_id", table_name="push_records")
    with op.batch_alter_table("push_records") as batch:
        batch.drop_column("payment_read_at")
        batch.drop_column("ledger_balance")
        batch.drop_column("payment_state")
