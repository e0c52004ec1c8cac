"""Version hashes: the same terms always give the same hash; any change gives another."""

from datetime import date

import pytest

from app.contracts.versions import canonical_terms, terms_hash

TERMS = {
    "title": "Booking website",
    "currency": "EUR",
    "milestones": [{"title": "Design", "amount_minor": 100000, "due_date": date(2030, 2, 1)}],
}


def test_key_order_and_whitespace_do_not_matter():
    reordered = {
        "milestones": [{"due_date": date(2030, 2, 1), "amount_minor": 100000, "title": "Design"}],
        "currency": "EUR",
        "title": "Booking website",
    }
    assert terms_hash(TERMS) == terms_hash(reordered)
    assert (
        canonical_terms(TERMS)
        == b'{"currency":"EUR","milestones":[{"amount_minor":100000,"due_date":"2030-02-01","title":"Design"}],"title":"Booking website"}'
    )


def test_any_change_changes_the_hash():
    changed = {**TERMS, "milestones": [{**TERMS["milestones"][0], "amount_minor": 100001}]}
    assert terms_hash(changed) != terms_hash(TERMS)
    assert len(terms_hash(TERMS)) == 64


def test_floats_are_refused():
    with pytest.raises(TypeError, match="minor units"):
        terms_hash({"amount": 10.5})


async def test_a_sent_version_and_its_signatures_cannot_be_changed_in_the_database(db):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from app.accounts.models import Role
    from tests.contracts.helpers import sent_contract, sign
    from tests.support.factories import make_user

    client = await make_user(db, role=Role.client)
    contractor = await make_user(db, role=Role.contractor)
    contract, version = await sent_contract(db, client, contractor)
    await sign(db, contract.id, client, version.terms_hash)
    await db.commit()
    version_id = version.id
    for statement in (
        "UPDATE contract_versions SET terms = '{}'::jsonb WHERE id = :id",
        "DELETE FROM contract_versions WHERE id = :id",
        "UPDATE contract_signatures SET typed_name = 'Someone Else' WHERE version_id = :id",
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            await db.execute(text(statement), {"id": version_id})
        await db.rollback()
