"""The queue's people and decisions: users, API tokens, mapping overrides, the global audit trail.

Revision ID: 0003_queue_users
Revises: 0001
Create Date: 2026-11-22

Written by hand like 0001. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_queue_users"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SURROGATE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _moment(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("username", name="pk_users"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("digest", name="pk_api_tokens"),
        sa.ForeignKeyConstraint(["username"], ["users.username"], name="fk_api_tokens_users"),
    )
    op.create_table(
        "mapping_overrides",
        sa.Column("company", sa.String(128), nullable=False),
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("added_by", sa.String(255), nullable=False),
        _moment("added_at"),
        sa.PrimaryKeyConstraint("company", "table_name", "key", name="pk_mapping_overrides"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", SURROGATE_ID, autoincrement=True, nullable=False),
        _moment("at"),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("before", JSON, nullable=False),
        sa.Column("after", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_case_history_at", "case_history", ["at"])
    _forbid_rewrites()


APPEND_ONLY = ("case_history", "audit_events")


def _forbid_rewrites() -> None:
    """The audit trails refuse UPDATE and DELETE in the database itself, whatever code runs against it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION closeout_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION closeout_append_only()")
        return
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION closeout_append_only()")
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")
    op.drop_index("ix_case_history_at", table_name="case_history")
    for table in ("audit_events", "mapping_overrides", "api_tokens", "users"):
        op.drop_table(table)
