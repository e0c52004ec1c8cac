"""signed records are immutable: contract versions and signatures can be added, never changed

Revision ID: 0012_signed_records_immutable
Revises: 0011_contract_workspace
"""

from alembic import op

revision = "0012_signed_records_immutable"
down_revision = "0011_contract_workspace"
branch_labels = None
depends_on = None

TABLES = ("contract_versions", "contract_signatures")


def upgrade() -> None:
    # A version is what someone read and signed, a signature is bound to its hash: neither may
    # change afterwards, whatever the application code does. (TRUNCATE, used by the tests, is a
    # statement and does not fire these row triggers.)
    op.execute(
        """
        CREATE FUNCTION signed_records_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% rows are immutable: % is not allowed', TG_TABLE_NAME, TG_OP;
        END $$;
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION signed_records_immutable()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
    op.execute("DROP FUNCTION signed_records_immutable()")
