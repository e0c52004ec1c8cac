"""jobs (weighted full-text search), proposals, proposed milestones

Revision ID: 0003_jobs
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_jobs"
down_revision = "0002"
branch_labels = None
depends_on = None

SEARCH_EXPRESSION = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', jobs_skills_text(skills)), 'B') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'C')"
)


def upgrade() -> None:
    # array_to_string is STABLE (element output functions could vary); for text[] it is not,
    # so this wrapper may be IMMUTABLE and the search column can be GENERATED.
    op.execute(
        "CREATE FUNCTION jobs_skills_text(text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        "AS $$ SELECT coalesce(array_to_string($1, ' '), '') $$"
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("skills", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("budget_type", sa.String(length=10), nullable=False),
        sa.Column("budget_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("search", postgresql.TSVECTOR(), sa.Computed(SEARCH_EXPRESSION, persisted=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["users.id"], name=op.f("fk_jobs_client_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_client_id"), "jobs", ["client_id"], unique=False)
    op.create_index("ix_jobs_search", "jobs", ["search"], unique=False, postgresql_using="gin")
    op.create_index("ix_jobs_skills", "jobs", ["skills"], unique=False, postgresql_using="gin")
    op.create_index("ix_jobs_status_published", "jobs", ["status", "visibility", "published_at"], unique=False)

    op.create_table(
        "proposals",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("contractor_id", sa.BigInteger(), nullable=False),
        sa.Column("cover_letter", sa.Text(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decline_note", sa.String(length=1000), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_proposals_job_id_jobs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["contractor_id"], ["users.id"], name=op.f("fk_proposals_contractor_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    op.create_index(op.f("ix_proposals_job_id"), "proposals", ["job_id"], unique=False)
    op.create_index(op.f("ix_proposals_contractor_id"), "proposals", ["contractor_id"], unique=False)
    op.create_index(
        "uq_proposals_one_active",
        "proposals",
        ["job_id", "contractor_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('submitted', 'shortlisted', 'accepted')"),
    )

    op.create_table(
        "proposed_milestones",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_proposed_milestones_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposed_milestones")),
    )
    op.create_index(op.f("ix_proposed_milestones_proposal_id"), "proposed_milestones", ["proposal_id"], unique=False)


def downgrade() -> None:
    op.drop_table("proposed_milestones")
    op.drop_index("uq_proposals_one_active", table_name="proposals")
    op.drop_table("proposals")
    op.drop_table("jobs")
    op.execute("DROP FUNCTION jobs_skills_text(text[])")
