"""failed sign-ins: a bounded, expiring table instead of the append-only audit chain

Revision ID: 0013_failed_sign_ins
Revises: 0012_signed_records_immutable
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_failed_sign_ins"
down_revision = "0012_signed_records_immutable"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failed_sign_ins",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("ip", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.String(length=400), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_failed_sign_ins_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_sign_ins")),
    )
    op.create_index(op.f("ix_failed_sign_ins_user_id"), "failed_sign_ins", ["user_id"], unique=False)
    op.create_index(op.f("ix_failed_sign_ins_created_at"), "failed_sign_ins", ["created_at"], unique=False)
    op.create_index("ix_failed_sign_ins_email_hash_id", "failed_sign_ins", ["email_hash", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("failed_sign_ins")
