"""Notifications: what each person was told, their preferences per kind, the daily digest.

Revision ID: 0022_notifications
Revises: 0021_conversations
Create Date: 2026-12-01 18:52:12.508088
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0022_notifications"
down_revision = "0021_conversations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_digests",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("items", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_digests_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_digests")),
        sa.UniqueConstraint("user_id", "local_day", name="uq_notification_digests_user_day"),
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_preferences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("daily_digest", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_settings_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("group_key", sa.String(length=120), nullable=True),
        sa.Column("count", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("in_app", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email", sa.String(length=16), server_default="none", nullable=False),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("digest_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["notification_digests.id"],
            name=op.f("fk_notifications_digest_id_notification_digests"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("public_id", name=op.f("uq_notifications_public_id")),
    )
    op.create_index(
        "ix_notifications_email_waiting",
        "notifications",
        ["email"],
        unique=False,
        postgresql_where=sa.text("email IN ('later', 'digest')"),
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("read_at IS NULL AND in_app"),
    )
    op.create_index(
        "ix_notifications_user_recent",
        "notifications",
        ["user_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "uq_notifications_open_group",
        "notifications",
        ["user_id", "group_key"],
        unique=True,
        postgresql_where=sa.text("read_at IS NULL AND group_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_notifications_open_group",
        table_name="notifications",
        postgresql_where=sa.text("read_at IS NULL AND group_key IS NOT NULL"),
    )
    op.drop_index("ix_notifications_user_recent", table_name="notifications")
    op.drop_index(
        "ix_notifications_unread", table_name="notifications", postgresql_where=sa.text("read_at IS NULL AND in_app")
    )
    op.drop_index(
        "ix_notifications_email_waiting",
        table_name="notifications",
        postgresql_where=sa.text("email IN ('later', 'digest')"),
    )
    op.drop_table("notifications")
    op.drop_table("notification_settings")
    op.drop_table("notification_preferences")
    op.drop_table("notification_digests")
