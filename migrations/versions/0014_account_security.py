"""account security: spent TOTP steps, derived secret links, confirmed sign-in links, the job outbox

Revision ID: 0014_account_security
Revises: 0013_failed_sign_ins
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_account_security"
down_revision = "0013_failed_sign_ins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The last accepted authenticator time step: a code is accepted once.
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    # Links are derived from a nonce and SECRET_KEY when sent; rows made before keep working
    # (their hash is still looked up) but cannot be sent again.
    op.add_column("one_time_tokens", sa.Column("nonce", sa.String(length=64), nullable=True))
    op.add_column("invitations", sa.Column("nonce", sa.String(length=64), nullable=True))
    # Existing links stay unconfirmed: we cannot tell how they were made, and a password reset
    # that removes one costs its owner a re-link from settings, nothing more (ADR 0018).
    op.add_column("oauth_identities", sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "outbox_jobs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("function", sa.String(length=200), nullable=False),
        sa.Column("kwargs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_jobs_key")),
    )
    op.create_index(
        "ix_outbox_jobs_pending", "outbox_jobs", ["id"], unique=False, postgresql_where=sa.text("enqueued_at IS NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_jobs_pending", table_name="outbox_jobs", postgresql_where=sa.text("enqueued_at IS NULL"))
    op.drop_table("outbox_jobs")
    op.drop_column("oauth_identities", "confirmed_at")
    op.drop_column("invitations", "nonce")
    op.drop_column("one_time_tokens", "nonce")
    op.drop_column("users", "totp_last_step")
