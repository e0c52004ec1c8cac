"""invoices and retainer periods: issued receipts and invoices with their gap-free number sequences
per issuer and year; a retainer's periods are milestones with a start and an end, funding
reminders and an overdue mark

Revision ID: 0020_invoices_retainers
Revises: 0019_payouts_reconciliation
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0020_invoices_retainers"
down_revision = "0019_payouts_reconciliation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_sequences",
        sa.Column("issuer_key", sa.String(length=60), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("issuer_key", "year", name=op.f("pk_invoice_sequences")),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("issuer_key", sa.String(length=60), nullable=False),
        sa.Column("issuer_user_id", sa.BigInteger(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("recipient_user_id", sa.BigInteger(), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("milestone_id", sa.BigInteger(), nullable=True),
        sa.Column("funding_id", sa.BigInteger(), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("issuer", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recipient", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_invoices_contract_id_contracts"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_invoices_entry_id_ledger_entries"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["funding_id"],
            ["escrow_fundings.id"],
            name=op.f("fk_invoices_funding_id_escrow_fundings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["issuer_user_id"], ["users.id"], name=op.f("fk_invoices_issuer_user_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["contract_milestones.id"],
            name=op.f("fk_invoices_milestone_id_contract_milestones"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"], ["users.id"], name=op.f("fk_invoices_recipient_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("issuer_key", "year", "sequence", name="uq_invoices_issuer_year_sequence"),
        sa.UniqueConstraint("kind", "entry_id", name="uq_invoices_kind_entry"),
        sa.UniqueConstraint("public_id", name=op.f("uq_invoices_public_id")),
    )
    op.create_index(op.f("ix_invoices_contract_id"), "invoices", ["contract_id"], unique=False)
    op.create_index(op.f("ix_invoices_issuer_user_id"), "invoices", ["issuer_user_id"], unique=False)
    op.create_index(op.f("ix_invoices_recipient_user_id"), "invoices", ["recipient_user_id"], unique=False)
    op.add_column("contract_milestones", sa.Column("period_start", sa.Date(), nullable=True))
    op.add_column("contract_milestones", sa.Column("period_end", sa.Date(), nullable=True))
    op.add_column(
        "contract_milestones", sa.Column("funding_reminders_sent", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column("contract_milestones", sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_contract_milestones_period_end"), "contract_milestones", ["period_end"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_contract_milestones_period_end"), table_name="contract_milestones")
    op.drop_column("contract_milestones", "overdue_at")
    op.drop_column("contract_milestones", "funding_reminders_sent")
    op.drop_column("contract_milestones", "period_end")
    op.drop_column("contract_milestones", "period_start")
    op.drop_index(op.f("ix_invoices_recipient_user_id"), table_name="invoices")
    op.drop_index(op.f("ix_invoices_issuer_user_id"), table_name="invoices")
    op.drop_index(op.f("ix_invoices_contract_id"), table_name="invoices")
    op.drop_table("invoices")
    op.drop_table("invoice_sequences")
