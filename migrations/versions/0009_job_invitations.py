"""invitations can name a job; invited contractors may see and apply to invite-only jobs

Revision ID: 0009_job_invitations
Revises: 0008_company_documents
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_job_invitations"
down_revision = "0008_company_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invitations", sa.Column("job_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key("fk_invitations_job_id_jobs", "invitations", "jobs", ["job_id"], ["id"], ondelete="SET NULL")
    op.create_table(
        "job_invites",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_job_invites_job_id_jobs", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_job_invites_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_job_invites"),
        sa.UniqueConstraint("job_id", "user_id", name="uq_job_invites_job_user"),
    )
    op.create_index("ix_job_invites_job_id", "job_invites", ["job_id"])
    op.create_index("ix_job_invites_user_id", "job_invites", ["user_id"])


def downgrade() -> None:
    op.drop_table("job_invites")
    op.drop_constraint("fk_invitations_job_id_jobs", "invitations", type_="foreignkey")
    op.drop_column("invitations", "job_id")
