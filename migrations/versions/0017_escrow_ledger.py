"""escrow ledger: double-entry accounts, journal entries and postings, held by the database

Revision ID: 0017_escrow_ledger
Revises: 0016_outbox_jobs_done
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_escrow_ledger"
down_revision = "0016_outbox_jobs_done"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("owner_user_id", sa.BigInteger(), nullable=True),
        sa.Column("owner_contract_id", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind <> 'escrow' OR balance_minor >= 0", name=op.f("ck_ledger_accounts_escrow_not_negative")),
        sa.CheckConstraint(
            "(kind = 'escrow') = (owner_contract_id IS NOT NULL)"
            " AND (kind IN ('client_funding', 'contractor_payable', 'refunds')) = (owner_user_id IS NOT NULL)",
            name=op.f("ck_ledger_accounts_owner_fits_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name="fk_ledger_accounts_owner_user_id_users", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["owner_contract_id"],
            ["contracts.id"],
            name="fk_ledger_accounts_owner_contract_id_contracts",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
    )
    # One account per (kind, owner, currency); made on first use with INSERT … ON CONFLICT DO NOTHING.
    op.execute(
        "CREATE UNIQUE INDEX uq_ledger_accounts_kind_owner_currency ON ledger_accounts "
        "(kind, coalesce(owner_user_id, 0), coalesce(owner_contract_id, 0), currency)"
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("reference", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=True),
        sa.Column("milestone_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name="fk_ledger_entries_contract_id_contracts", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["contract_milestones.id"],
            name="fk_ledger_entries_milestone_id_contract_milestones",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name="fk_ledger_entries_actor_id_users", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
        sa.UniqueConstraint("reference", name="uq_ledger_entries_reference"),
    )
    op.create_index("ix_ledger_entries_contract_id", "ledger_entries", ["contract_id"])
    op.create_index("ix_ledger_entries_milestone_id", "ledger_entries", ["milestone_id"])
    op.create_table(
        "ledger_postings",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.CheckConstraint("amount_minor <> 0", name=op.f("ck_ledger_postings_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name="fk_ledger_postings_entry_id_ledger_entries", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name="fk_ledger_postings_account_id_ledger_accounts",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_postings"),
    )
    op.create_index("ix_ledger_postings_entry_id", "ledger_postings", ["entry_id"])
    op.create_index("ix_ledger_postings_account_id", "ledger_postings", ["account_id"])

    # Entries and postings are append-only. (TRUNCATE, used by the tests, is a statement and
    # fires none of these row triggers.)
    op.execute(
        """
        CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP;
        END $$;
        """
    )
    for table in ("ledger_entries", "ledger_postings"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        )

    # A posting moves its account's balance, in the posting's own statement: the row lock this
    # UPDATE takes serializes writers of one account, and the escrow CHECK refuses the posting
    # that would take an escrow below zero. The posting's currency must be its account's.
    op.execute(
        """
        CREATE FUNCTION ledger_posting_applied() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE account_currency char(3);
        BEGIN
          UPDATE ledger_accounts SET balance_minor = balance_minor + NEW.amount_minor
          WHERE id = NEW.account_id RETURNING currency INTO account_currency;
          IF account_currency IS DISTINCT FROM NEW.currency THEN
            RAISE EXCEPTION 'ledger posting in % to account % kept in %',
              NEW.currency, NEW.account_id, account_currency;
          END IF;
          RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_postings_apply AFTER INSERT ON ledger_postings "
        "FOR EACH ROW EXECUTE FUNCTION ledger_posting_applied()"
    )
    # An account's kind, owner and currency never change, it is never deleted, and its balance
    # is written only by the trigger above (trigger depth 2), never by a statement of its own.
    op.execute(
        """
        CREATE FUNCTION ledger_account_guarded() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'ledger_accounts rows cannot be deleted';
          END IF;
          IF (NEW.kind, NEW.owner_user_id, NEW.owner_contract_id, NEW.currency, NEW.id)
             IS DISTINCT FROM (OLD.kind, OLD.owner_user_id, OLD.owner_contract_id, OLD.currency, OLD.id) THEN
            RAISE EXCEPTION 'a ledger account''s kind, owner and currency cannot change';
          END IF;
          IF NEW.balance_minor <> OLD.balance_minor AND pg_trigger_depth() < 2 THEN
            RAISE EXCEPTION 'ledger_accounts.balance_minor is kept by postings: post an entry instead';
          END IF;
          RETURN NEW;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_accounts_guarded BEFORE UPDATE OR DELETE ON ledger_accounts "
        "FOR EACH ROW EXECUTE FUNCTION ledger_account_guarded()"
    )

    # The zero sum, checked at commit (DEFERRABLE INITIALLY DEFERRED): an entry whose postings
    # do not sum to zero in each currency, or that has fewer than two postings, is refused. It
    # fires for every new posting (its entry is checked) and for every new entry (so an entry
    # without postings cannot be committed either).
    op.execute(
        """
        CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          checked bigint;
          lines bigint;
          off record;
        BEGIN
          IF TG_TABLE_NAME = 'ledger_entries' THEN
            checked := NEW.id;
          ELSE
            checked := NEW.entry_id;
          END IF;
          SELECT count(*) INTO lines FROM ledger_postings WHERE entry_id = checked;
          IF lines < 2 THEN
            RAISE EXCEPTION 'ledger entry % has % posting(s); an entry needs at least two', checked, lines
              USING ERRCODE = 'check_violation';
          END IF;
          SELECT currency, sum(amount_minor) AS total INTO off FROM ledger_postings
          WHERE entry_id = checked GROUP BY currency HAVING sum(amount_minor) <> 0 LIMIT 1;
          IF FOUND THEN
            RAISE EXCEPTION 'ledger entry % does not balance: its % postings sum to %, not zero',
              checked, off.currency, off.total USING ERRCODE = 'check_violation';
          END IF;
          RETURN NULL;
        END $$;
        """
    )
    for table in ("ledger_entries", "ledger_postings"):
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_balanced AFTER INSERT ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced()"
        )


def downgrade() -> None:
    for table in ("ledger_entries", "ledger_postings"):
        op.execute(f"DROP TRIGGER {table}_balanced ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP TRIGGER ledger_postings_apply ON ledger_postings")
    op.execute("DROP TRIGGER ledger_accounts_guarded ON ledger_accounts")
    op.drop_table("ledger_postings")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_accounts")
    for function in ("ledger_entry_balanced", "ledger_account_guarded", "ledger_posting_applied", "ledger_append_only"):
        op.execute(f"DROP FUNCTION {function}()")
