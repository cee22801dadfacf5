"""User companies: the companies a queue user is limited to (an empty list or NULL: every company).

Revision ID: 0013_user_companies
Revises: 0012_cutovers
Create Date: 2026-12-04

Written by hand like 0001. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_user_companies"
down_revision = "0012_cutovers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE on both databases: a batch copy of users on SQLite would cascade to its tokens and sessions
    op.add_column("users", sa.Column("companies", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                                     nullable=True))


def downgrade() -> None:
    op.drop_column("users", "companies")  # SQLite 3.35+ drops a column in place; every user then sees every company
