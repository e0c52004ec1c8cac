"""contract workspace: milestones, amendments, change requests, PDF renderings, templates

Revision ID: 0011_contract_workspace
Revises: 0010_contracts
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_contract_workspace"
down_revision = "0010_contracts"
branch_labels = None
depends_on = None


def _created_at():
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete)


def upgrade() -> None:
    op.add_column("contracts", sa.Column("origin", sa.String(20), server_default="proposal", nullable=False))
    op.add_column("contracts", sa.Column("company_id", sa.BigInteger(), nullable=True))
    op.add_column("contracts", sa.Column("draft_rev", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("contracts", sa.Column("review", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("contracts", sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("contracts", sa.Column("draft_edited_by", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "fk_contracts_draft_edited_by_users", "contracts", "users", ["draft_edited_by"], ["id"], ondelete="SET NULL"
    )
    op.create_foreign_key(
        "fk_contracts_company_id_companies", "contracts", "companies", ["company_id"], ["id"], ondelete="SET NULL"
    )

    op.create_table(
        "contract_milestones",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("acceptance_criteria", sa.Text(), nullable=False, server_default=""),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        _created_at(),
        _fk("contract_milestones", "contract_id", "contracts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_contract_milestones"),
        sa.CheckConstraint("amount_minor > 0", name="ck_contract_milestones_amount_positive"),
    )
    op.create_index("ix_contract_milestones_contract_id", "contract_milestones", ["contract_id"])

    op.create_table(
        "contract_amendments",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("proposed_by", sa.BigInteger(), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        _fk("contract_amendments", "contract_id", "contracts", "CASCADE"),
        _fk("contract_amendments", "version_id", "contract_versions", "RESTRICT"),
        _fk("contract_amendments", "proposed_by", "users", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_contract_amendments"),
        sa.UniqueConstraint("version_id", name="uq_contract_amendments_version_id"),
    )
    op.create_index("ix_contract_amendments_contract_id", "contract_amendments", ["contract_id"])
    # At most one amendment waits for signatures at a time.
    op.create_index(
        "uq_contract_amendments_one_open",
        "contract_amendments",
        ["contract_id"],
        unique=True,
        postgresql_where=sa.text("status = 'proposed'"),
    )

    op.create_table(
        "contract_change_requests",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("resolved_by_version_id", sa.BigInteger(), nullable=True),
        _created_at(),
        _fk("contract_change_requests", "contract_id", "contracts", "CASCADE"),
        _fk("contract_change_requests", "version_id", "contract_versions", "SET NULL"),
        _fk("contract_change_requests", "author_id", "users", "RESTRICT"),
        sa.ForeignKeyConstraint(
            ["resolved_by_version_id"],
            ["contract_versions.id"],
            name="fk_contract_change_requests_resolved_version",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contract_change_requests"),
    )
    op.create_index("ix_contract_change_requests_contract_id", "contract_change_requests", ["contract_id"])

    op.create_table(
        "contract_documents",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("terms_hash", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("pages", sa.BigInteger(), nullable=False),
        _created_at(),
        _fk("contract_documents", "contract_id", "contracts", "CASCADE"),
        _fk("contract_documents", "version_id", "contract_versions", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_contract_documents"),
        sa.UniqueConstraint("version_id", "final", name="uq_contract_documents_version_final"),
    )
    op.create_index("ix_contract_documents_contract_id", "contract_documents", ["contract_id"])
    op.create_index("ix_contract_documents_sha256", "contract_documents", ["sha256"])

    op.create_table(
        "contract_templates",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("placeholders", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _created_at(),
        _fk("contract_templates", "company_id", "companies", "CASCADE"),
        _fk("contract_templates", "updated_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_contract_templates"),
        sa.UniqueConstraint("company_id", "key", name="uq_contract_templates_company_key"),
    )
    # Platform templates (no company) are unique by key too; NULLs are distinct in the constraint above.
    op.create_index(
        "uq_contract_templates_platform_key",
        "contract_templates",
        ["key"],
        unique=True,
        postgresql_where=sa.text("company_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("contract_templates")
    op.drop_table("contract_documents")
    op.drop_table("contract_change_requests")
    op.drop_table("contract_amendments")
    op.drop_table("contract_milestones")
    op.drop_constraint("fk_contracts_company_id_companies", "contracts", type_="foreignkey")
    op.drop_constraint("fk_contracts_draft_edited_by_users", "contracts", type_="foreignkey")
    for column in ("draft_edited_by", "ended_at", "review", "draft_rev", "company_id", "origin"):
        op.drop_column("contracts", column)
