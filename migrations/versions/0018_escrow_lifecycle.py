"""escrow lifecycle: fundings (our side of a checkout), submissions and their files, the milestone's
review clock, idempotency keys, payment webhook events and the sandbox provider's own records

Revision ID: 0018_escrow_lifecycle
Revises: 0017_escrow_ledger
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018_escrow_lifecycle"
down_revision = "0017_escrow_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_webhook_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_webhook_events")),
        sa.UniqueConstraint("provider", "event_id", name="uq_payment_webhook_events_provider_event"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.CHAR(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False)
    op.create_table(
        "sandbox_payments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("payer_user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("return_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("card_last4", sa.String(length=4), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["payer_user_id"], ["users.id"], name=op.f("fk_sandbox_payments_payer_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_payments")),
    )
    op.create_index(op.f("ix_sandbox_payments_reference"), "sandbox_payments", ["reference"], unique=False)
    op.create_table(
        "sandbox_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["sandbox_payments.id"],
            name=op.f("fk_sandbox_events_payment_id_sandbox_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_events")),
    )
    op.create_index(op.f("ix_sandbox_events_payment_id"), "sandbox_events", ["payment_id"], unique=False)
    op.create_table(
        "sandbox_refunds",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["sandbox_payments.id"],
            name=op.f("fk_sandbox_refunds_payment_id_sandbox_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_refunds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_sandbox_refunds_idempotency_key")),
    )
    op.create_index(op.f("ix_sandbox_refunds_payment_id"), "sandbox_refunds", ["payment_id"], unique=False)
    op.create_table(
        "escrow_fundings",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("checkout_url", sa.Text(), nullable=True),
        sa.Column("failure_message", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["users.id"], name=op.f("fk_escrow_fundings_client_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_escrow_fundings_contract_id_contracts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrow_fundings")),
        sa.UniqueConstraint("provider_payment_id", name=op.f("uq_escrow_fundings_provider_payment_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_escrow_fundings_public_id")),
    )
    op.create_index(op.f("ix_escrow_fundings_contract_id"), "escrow_fundings", ["contract_id"], unique=False)
    op.create_table(
        "escrow_funding_milestones",
        sa.Column("funding_id", sa.BigInteger(), nullable=False),
        sa.Column("milestone_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["funding_id"],
            ["escrow_fundings.id"],
            name=op.f("fk_escrow_funding_milestones_funding_id_escrow_fundings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["contract_milestones.id"],
            name=op.f("fk_escrow_funding_milestones_milestone_id_contract_milestones"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("funding_id", "milestone_id", name=op.f("pk_escrow_funding_milestones")),
    )
    op.create_index(
        op.f("ix_escrow_funding_milestones_milestone_id"), "escrow_funding_milestones", ["milestone_id"], unique=False
    )
    op.create_table(
        "milestone_submissions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("milestone_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("answer", sa.String(length=30), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("answered_by", sa.BigInteger(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["users.id"], name=op.f("fk_milestone_submissions_answered_by_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_milestone_submissions_author_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["contract_milestones.id"],
            name=op.f("fk_milestone_submissions_milestone_id_contract_milestones"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_submissions")),
        sa.UniqueConstraint("milestone_id", "number", name="uq_milestone_submissions_milestone_number"),
    )
    op.create_index(
        op.f("ix_milestone_submissions_milestone_id"), "milestone_submissions", ["milestone_id"], unique=False
    )
    op.create_table(
        "milestone_submission_files",
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_files.id"],
            name=op.f("fk_milestone_submission_files_file_id_stored_files"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["milestone_submissions.id"],
            name=op.f("fk_milestone_submission_files_submission_id_milestone_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", "file_id", name=op.f("pk_milestone_submission_files")),
    )
    op.add_column("contract_milestones", sa.Column("funded_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("contract_milestones", sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("contract_milestones", sa.Column("review_ends_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "contract_milestones", sa.Column("reminders_sent", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "contract_milestones", sa.Column("revision_count", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column("contract_milestones", sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("contract_milestones", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("contract_milestones", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        op.f("ix_contract_milestones_review_ends_at"), "contract_milestones", ["review_ends_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_contract_milestones_review_ends_at"), table_name="contract_milestones")
    op.drop_column("contract_milestones", "closed_at")
    op.drop_column("contract_milestones", "released_at")
    op.drop_column("contract_milestones", "approved_at")
    op.drop_column("contract_milestones", "revision_count")
    op.drop_column("contract_milestones", "reminders_sent")
    op.drop_column("contract_milestones", "review_ends_at")
    op.drop_column("contract_milestones", "submitted_at")
    op.drop_column("contract_milestones", "funded_at")
    op.drop_table("milestone_submission_files")
    op.drop_index(op.f("ix_milestone_submissions_milestone_id"), table_name="milestone_submissions")
    op.drop_table("milestone_submissions")
    op.drop_index(op.f("ix_escrow_funding_milestones_milestone_id"), table_name="escrow_funding_milestones")
    op.drop_table("escrow_funding_milestones")
    op.drop_index(op.f("ix_escrow_fundings_contract_id"), table_name="escrow_fundings")
    op.drop_table("escrow_fundings")
    op.drop_index(op.f("ix_sandbox_refunds_payment_id"), table_name="sandbox_refunds")
    op.drop_table("sandbox_refunds")
    op.drop_index(op.f("ix_sandbox_events_payment_id"), table_name="sandbox_events")
    op.drop_table("sandbox_events")
    op.drop_index(op.f("ix_sandbox_payments_reference"), table_name="sandbox_payments")
    op.drop_table("sandbox_payments")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("payment_webhook_events")
