"""contracts: contracts, immutable versions, signatures bound to a version hash

Revision ID: 0010_contracts
Revises: 0009_job_invitations
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_contracts"
down_revision = "0009_job_invitations"
branch_labels = None
depends_on = None


def _created_at():
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(32), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("contractor_id", sa.BigInteger(), nullable=False),
        sa.Column("proposal_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("draft_terms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("current_version_id", sa.BigInteger(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(["client_id"], ["users.id"], name="fk_contracts_client_id_users", ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["contractor_id"], ["users.id"], name="fk_contracts_contractor_id_users", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name="fk_contracts_proposal_id_proposals", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contracts"),
        sa.UniqueConstraint("public_id", name="uq_contracts_public_id"),
        sa.UniqueConstraint("proposal_id", name="uq_contracts_proposal_id"),
    )
    op.create_index("ix_contracts_client_id", "contracts", ["client_id"])
    op.create_index("ix_contracts_contractor_id", "contracts", ["contractor_id"])
    op.create_table(
        "contract_versions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("terms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("terms_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name="fk_contract_versions_contract_id_contracts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name="fk_contract_versions_created_by_users", ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contract_versions"),
        sa.UniqueConstraint("contract_id", "number", name="uq_contract_versions_contract_number"),
    )
    op.create_index("ix_contract_versions_contract_id", "contract_versions", ["contract_id"])
    op.create_foreign_key(
        "fk_contracts_current_version_id_contract_versions",
        "contracts",
        "contract_versions",
        ["current_version_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_table(
        "contract_signatures",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("terms_hash", sa.String(64), nullable=False),
        sa.Column("typed_name", sa.String(200), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name="fk_contract_signatures_contract_id_contracts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["contract_versions.id"],
            name="fk_contract_signatures_version_id_contract_versions",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_contract_signatures_user_id_users", ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contract_signatures"),
        sa.UniqueConstraint("version_id", "user_id", name="uq_contract_signatures_version_user"),
    )
    op.create_index("ix_contract_signatures_contract_id", "contract_signatures", ["contract_id"])


def downgrade() -> None:
    op.drop_table("contract_signatures")
    op.drop_constraint("fk_contracts_current_version_id_contract_versions", "contracts", type_="foreignkey")
    op.drop_table("contract_versions")
    op.drop_table("contracts")
