"""Mail: messages read from mailboxes, their attachments (by content hash), their matches, and every poll.

Revision ID: 0004_mail
Revises: 0003_queue_users
Create Date: 2026-11-22

Written by hand like 0001. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_mail"
down_revision = "0003_queue_users"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SURROGATE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _moment(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("id", SURROGATE_ID, autoincrement=True, nullable=False),
        sa.Column("company", sa.String(128), nullable=False),
        sa.Column("mailbox", sa.String(128), nullable=False),
        sa.Column("folder", sa.String(255), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(500), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("from_address", sa.String(320), nullable=False),
        _moment("sent_at", nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("raw_path", sa.Text(), nullable=False),
        sa.Column("problems", JSON, nullable=False),
        _moment("received_at"),
        sa.PrimaryKeyConstraint("id", name="pk_mail_messages"),
        sa.UniqueConstraint("company", "message_id", "content_hash",
                            name="uq_mail_messages_company_message_id_content_hash"),
    )
    op.create_index("ix_mail_messages_company_message_id", "mail_messages", ["company", "message_id"])

    op.create_table(
        "mail_attachments",
        sa.Column("message_pk", SURROGATE_ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("skipped", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("message_pk", "seq", name="pk_mail_attachments"),
        sa.ForeignKeyConstraint(["message_pk"], ["mail_messages.id"], name="fk_mail_attachments_mail_messages"),
    )

    op.create_table(
        "mail_matches",
        sa.Column("message_pk", SURROGATE_ID, nullable=False),
        sa.Column("work_order_id", sa.String(300), nullable=False),
        sa.Column("job_number", sa.String(128), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        _moment("matched_at"),
        sa.PrimaryKeyConstraint("message_pk", name="pk_mail_matches"),
        sa.ForeignKeyConstraint(["message_pk"], ["mail_messages.id"], name="fk_mail_matches_mail_messages"),
    )
    op.create_index("ix_mail_matches_work_order_id", "mail_matches", ["work_order_id"])

    op.create_table(
        "mail_polls",
        sa.Column("id", SURROGATE_ID, autoincrement=True, nullable=False),
        sa.Column("company", sa.String(128), nullable=False),
        sa.Column("mailbox", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        _moment("at"),
        sa.PrimaryKeyConstraint("id", name="pk_mail_polls"),
    )
    op.create_index("ix_mail_polls_company_mailbox_outcome_at", "mail_polls", ["company", "mailbox", "outcome", "at"])


def downgrade() -> None:
    op.drop_index("ix_mail_polls_company_mailbox_outcome_at", table_name="mail_polls")
    op.drop_table("mail_polls")
    op.drop_index("ix_mail_matches_work_order_id", table_name="mail_matches")
    op.drop_table("mail_matches")
    op.drop_table("mail_attachments")
    op.drop_index("ix_mail_messages_company_message_id", table_name="mail_messages")
    op.drop_table("mail_messages")
