"""payouts and reconciliation: payout methods and payouts, the sandbox's bank accounts and payouts,
reconciliation runs and their mismatches; sandbox events name any object; the ledger's
never-negative rule covers what a contractor is owed and payouts in transit

Revision ID: 0019_payouts_reconciliation
Revises: 0018_escrow_lifecycle
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0019_payouts_reconciliation"
down_revision = "0018_escrow_lifecycle"
branch_labels = None
depends_on = None

OWED_NOT_NEGATIVE = "kind NOT IN ('escrow', 'contractor_payable', 'payouts_in_transit') OR balance_minor >= 0"
OWNER_FITS_KIND = (
    "(kind = 'escrow') = (owner_contract_id IS NOT NULL)"
    " AND (kind IN ('client_funding', 'contractor_payable', 'refunds', 'payouts_in_transit'))"
    " = (owner_user_id IS NOT NULL)"
)
OLD_OWNER_FITS_KIND = (
    "(kind = 'escrow') = (owner_contract_id IS NOT NULL)"
    " AND (kind IN ('client_funding', 'contractor_payable', 'refunds')) = (owner_user_id IS NOT NULL)"
)


def upgrade() -> None:
    op.create_table(
        "payout_methods",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_account_id", sa.String(length=255), nullable=False),
        sa.Column("label", sa.Text(), server_default="", nullable=False),
        sa.Column("ready", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("auto_weekly", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_payout_methods_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_methods")),
        sa.UniqueConstraint("provider_account_id", name=op.f("uq_payout_methods_provider_account_id")),
        sa.UniqueConstraint("user_id", "provider", name="uq_payout_methods_user_provider"),
    )
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("checked", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("error", sa.Text(), server_default="", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["users.id"],
            name=op.f("fk_reconciliation_runs_acknowledged_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
    )
    op.create_index(op.f("ix_reconciliation_runs_day"), "reconciliation_runs", ["day"], unique=False)
    op.create_table(
        "sandbox_payout_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.Text(), server_default="", nullable=False),
        sa.Column("holder_name", sa.Text(), server_default="", nullable=False),
        sa.Column("iban_last4", sa.String(length=4), server_default="", nullable=False),
        sa.Column("fails_payouts", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sandbox_payout_accounts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_payout_accounts")),
    )
    op.create_index(op.f("ix_sandbox_payout_accounts_user_id"), "sandbox_payout_accounts", ["user_id"], unique=False)
    op.create_table(
        "payouts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("method_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("automatic", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("provider_payout_id", sa.String(length=255), nullable=True),
        sa.Column("failure_message", sa.Text(), server_default="", nullable=False),
        sa.Column("attempts", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["method_id"], ["payout_methods.id"], name=op.f("fk_payouts_method_id_payout_methods"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payouts_user_id_users"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("provider_payout_id", name=op.f("uq_payouts_provider_payout_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_payouts_public_id")),
    )
    op.create_index(op.f("ix_payouts_status"), "payouts", ["status"], unique=False)
    op.create_index(op.f("ix_payouts_user_id"), "payouts", ["user_id"], unique=False)
    op.create_table(
        "reconciliation_mismatches",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("reference", sa.String(length=255), server_default="", nullable=False),
        sa.Column("provider_object_id", sa.String(length=255), server_default="", nullable=False),
        sa.Column("ledger", sa.Text(), server_default="", nullable=False),
        sa.Column("provider_says", sa.Text(), server_default="", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
            name=op.f("fk_reconciliation_mismatches_run_id_reconciliation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_mismatches")),
    )
    op.create_index(op.f("ix_reconciliation_mismatches_run_id"), "reconciliation_mismatches", ["run_id"], unique=False)
    op.create_table(
        "sandbox_payouts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("failure_message", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["sandbox_payout_accounts.id"],
            name=op.f("fk_sandbox_payouts_account_id_sandbox_payout_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_payouts")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_sandbox_payouts_idempotency_key")),
    )
    op.create_index(op.f("ix_sandbox_payouts_account_id"), "sandbox_payouts", ["account_id"], unique=False)
    op.create_index(op.f("ix_sandbox_payouts_created_at"), "sandbox_payouts", ["created_at"], unique=False)
    op.create_index(op.f("ix_sandbox_payouts_reference"), "sandbox_payouts", ["reference"], unique=False)
    # A sandbox event now names a payment, a payout or a payout account: the column keeps its rows.
    op.drop_constraint(op.f("fk_sandbox_events_payment_id_sandbox_payments"), "sandbox_events", type_="foreignkey")
    op.alter_column("sandbox_events", "payment_id", new_column_name="object_id")
    op.execute("ALTER INDEX ix_sandbox_events_payment_id RENAME TO ix_sandbox_events_object_id")
    op.drop_constraint(op.f("ck_ledger_accounts_escrow_not_negative"), "ledger_accounts", type_="check")
    op.drop_constraint(op.f("ck_ledger_accounts_owner_fits_kind"), "ledger_accounts", type_="check")
    op.create_check_constraint(op.f("ck_ledger_accounts_owed_not_negative"), "ledger_accounts", OWED_NOT_NEGATIVE)
    op.create_check_constraint(op.f("ck_ledger_accounts_owner_fits_kind"), "ledger_accounts", OWNER_FITS_KIND)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_ledger_accounts_owner_fits_kind"), "ledger_accounts", type_="check")
    op.drop_constraint(op.f("ck_ledger_accounts_owed_not_negative"), "ledger_accounts", type_="check")
    op.create_check_constraint(op.f("ck_ledger_accounts_owner_fits_kind"), "ledger_accounts", OLD_OWNER_FITS_KIND)
    op.create_check_constraint(
        op.f("ck_ledger_accounts_escrow_not_negative"), "ledger_accounts", "kind <> 'escrow' OR balance_minor >= 0"
    )
    op.execute("DELETE FROM sandbox_events WHERE object_id NOT IN (SELECT id FROM sandbox_payments)")
    op.execute("ALTER INDEX ix_sandbox_events_object_id RENAME TO ix_sandbox_events_payment_id")
    op.alter_column("sandbox_events", "object_id", new_column_name="payment_id")
    op.create_foreign_key(
        op.f("fk_sandbox_events_payment_id_sandbox_payments"),
        "sandbox_events",
        "sandbox_payments",
        ["payment_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.drop_index(op.f("ix_sandbox_payouts_reference"), table_name="sandbox_payouts")
    op.drop_index(op.f("ix_sandbox_payouts_created_at"), table_name="sandbox_payouts")
    op.drop_index(op.f("ix_sandbox_payouts_account_id"), table_name="sandbox_payouts")
    op.drop_table("sandbox_payouts")
    op.drop_index(op.f("ix_reconciliation_mismatches_run_id"), table_name="reconciliation_mismatches")
    op.drop_table("reconciliation_mismatches")
    op.drop_index(op.f("ix_payouts_user_id"), table_name="payouts")
    op.drop_index(op.f("ix_payouts_status"), table_name="payouts")
    op.drop_table("payouts")
    op.drop_index(op.f("ix_sandbox_payout_accounts_user_id"), table_name="sandbox_payout_accounts")
    op.drop_table("sandbox_payout_accounts")
    op.drop_index(op.f("ix_reconciliation_runs_day"), table_name="reconciliation_runs")
    op.drop_table("reconciliation_runs")
    op.drop_table("payout_methods")
