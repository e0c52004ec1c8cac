"""companies: members, contractor lists, invitations

Revision ID: 0005_companies
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_companies"
down_revision = "0002"
branch_labels = None
depends_on = None


def _timestamps():
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("registration_number", sa.String(64), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("vat_id", sa.String(32), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("verification", sa.String(20), server_default="unverified", nullable=False),
        sa.Column("verification_note", sa.String(500), nullable=True),
        sa.Column("registry_note", sa.String(500), nullable=True),
        sa.Column("verified_by", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        _timestamps(),
        sa.ForeignKeyConstraint(
            ["verified_by"], ["users.id"], name="fk_companies_verified_by_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name="fk_companies_created_by_users", ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_companies"),
    )
    op.create_table(
        "company_members",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        _timestamps(),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name="fk_company_members_company_id_companies", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_company_members_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_company_members"),
    )
    op.create_index("ix_company_members_company_id", "company_members", ["company_id"])
    op.create_index("ix_company_members_user_id", "company_members", ["user_id"])
    op.create_index(
        "uq_company_members_current",
        "company_members",
        ["company_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("left_at IS NULL"),
    )
    op.create_table(
        "company_contractors",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        _timestamps(),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name="fk_company_contractors_company_id_companies", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_company_contractors_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_company_contractors"),
        sa.UniqueConstraint("company_id", "user_id", name="uq_company_contractors_company_user"),
    )
    op.create_index("ix_company_contractors_company_id", "company_contractors", ["company_id"])
    op.create_index("ix_company_contractors_user_id", "company_contractors", ["user_id"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("invited_by", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_user_id", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _timestamps(),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name="fk_invitations_company_id_companies", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name="fk_invitations_invited_by_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["accepted_user_id"], ["users.id"], name="fk_invitations_accepted_user_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
    )
    op.create_index("ix_invitations_company_id", "invitations", ["company_id"])


def downgrade() -> None:
    op.drop_table("invitations")
    op.drop_table("company_contractors")
    op.drop_table("company_members")
    op.drop_table("companies")
