"""outbox jobs done: a job row records when its task did its effect, so a second run skips it

Revision ID: 0016_outbox_jobs_done
Revises: 0015_quote_confirmation
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_outbox_jobs_done"
down_revision = "0015_quote_confirmation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox_jobs", sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
    # Rows handed over before this column existed may still be waiting in the queue: they stay
    # NULL, so they run once and are marked then.


def downgrade() -> None:
    op.drop_column("outbox_jobs", "done_at")
