"""profiles: contractor profiles, portfolio items, stored files, KYC checks, KYC webhook events

Revision ID: 0004_profiles
Revises: 0002
Create Date: 2026-11-23 09:40:00

Written by hand: 0003_jobs is a sibling off 0002; `pactline migrate` upgrades to all heads.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_profiles"
down_revision = "0002"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "contractor_profiles",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("headline", sa.String(length=120), server_default="", nullable=False),
        sa.Column("bio", sa.Text(), server_default="", nullable=False),
        sa.Column("skills", postgresql.ARRAY(sa.String(length=40)), server_default="{}", nullable=False),
        sa.Column("hourly_rate_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), server_default="EUR", nullable=False),
        sa.Column("availability", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("kyc_status", sa.String(length=20), server_default="unverified", nullable=False),
        sa.Column("kyc_reason", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_contractor_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contractor_profiles")),
        sa.UniqueConstraint("user_id", name=op.f("uq_contractor_profiles_user_id")),
        sa.UniqueConstraint("slug", name=op.f("uq_contractor_profiles_slug")),
    )
    op.create_table(
        "stored_files",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("original_name", sa.String(length=200), server_default="", nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_stored_files_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_stored_files_storage_key")),
    )
    op.create_index(op.f("ix_stored_files_owner_id"), "stored_files", ["owner_id"], unique=False)
    op.create_table(
        "portfolio_items",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("image_file_id", sa.BigInteger(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["contractor_profiles.id"],
            name=op.f("fk_portfolio_items_profile_id_contractor_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["image_file_id"],
            ["stored_files.id"],
            name=op.f("fk_portfolio_items_image_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_items")),
    )
    op.create_index(op.f("ix_portfolio_items_profile_id"), "portfolio_items", ["profile_id"], unique=False)
    op.create_table(
        "kyc_checks",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("id_document_file_id", sa.BigInteger(), nullable=True),
        sa.Column("selfie_file_id", sa.BigInteger(), nullable=True),
        sa.Column("provider_session_id", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("decided_by_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_kyc_checks_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["id_document_file_id"],
            ["stored_files.id"],
            name=op.f("fk_kyc_checks_id_document_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["selfie_file_id"],
            ["stored_files.id"],
            name=op.f("fk_kyc_checks_selfie_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_kyc_checks_decided_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyc_checks")),
        sa.UniqueConstraint("provider_session_id", name=op.f("uq_kyc_checks_provider_session_id")),
    )
    op.create_index(op.f("ix_kyc_checks_user_id"), "kyc_checks", ["user_id"], unique=False)
    op.create_table(
        "kyc_webhook_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyc_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_kyc_webhook_events_event_id")),
    )


def downgrade() -> None:
    op.drop_table("kyc_webhook_events")
    op.drop_index(op.f("ix_kyc_checks_user_id"), table_name="kyc_checks")
    op.drop_table("kyc_checks")
    op.drop_index(op.f("ix_portfolio_items_profile_id"), table_name="portfolio_items")
    op.drop_table("portfolio_items")
    op.drop_index(op.f("ix_stored_files_owner_id"), table_name="stored_files")
    op.drop_table("stored_files")
    op.drop_table("contractor_profiles")
