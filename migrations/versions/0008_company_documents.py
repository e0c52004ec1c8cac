"""companies: the register extract uploaded with a verification request

Revision ID: 0008_company_documents
Revises: 0007_audit
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_company_documents"
down_revision = "0007_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("companies", sa.Column("registration_document_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "fk_companies_registration_document_id_stored_files",
        "companies",
        "stored_files",
        ["registration_document_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint("fk_companies_registration_document_id_stored_files", "companies", type_="foreignkey")
    op.drop_column("companies", "registration_document_id")
