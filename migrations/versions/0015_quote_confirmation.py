"""quote confirmation: a public-form lead waits for its requester's e-mail link

Revision ID: 0015_quote_confirmation
Revises: 0014_account_security
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_quote_confirmation"
down_revision = "0014_account_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("leads", sa.Column("confirm_nonce", sa.String(32), nullable=True))
    op.add_column("leads", sa.Column("confirm_token_hash", sa.String(64), nullable=True))
    op.add_column("leads", sa.Column("confirm_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("leads", sa.Column("confirmation_sent_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("leads", sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_unique_constraint("uq_leads_confirm_token_hash", "leads", ["confirm_token_hash"])
    # Requests sent before the rule existed were accepted under the old one (an in-flight request
    # is not dropped by a deploy); only new form requests wait for their link.
    op.execute("UPDATE leads SET confirmed_at = created_at WHERE source = 'form'")


def downgrade() -> None:
    # Unconfirmed requests have no meaning without the link: they go, rather than reach accounts.
    op.execute("DELETE FROM leads WHERE status IN ('unconfirmed', 'expired')")
    op.drop_constraint("uq_leads_confirm_token_hash", "leads", type_="unique")
    for column in ("confirmed_at", "confirmation_sent_at", "confirm_expires_at", "confirm_token_hash", "confirm_nonce"):
        op.drop_column("leads", column)
