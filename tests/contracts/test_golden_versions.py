"""Version hashes never change. `golden/versions.json` holds versions made by the code of
2026-11-30 (before terms got a type): a contract drafted from a proposal, its amendment, a GBP
retainer with non-ASCII words, the retainer template and a rider, a USD contract filled in through
the editor, and the demo contract. Signatures bind to these hashes, so whatever reads or writes
terms later must hash the same stored terms to the same value."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.contracts.models import ContractVersion
from app.contracts.versions import canonical_terms, terms_hash

GOLDEN = json.loads((Path(__file__).parent / "golden" / "versions.json").read_text(encoding="utf-8"))


def test_the_golden_set_covers_each_kind_of_terms():
    kinds = {(v["terms"]["kind"], v["terms"]["currency"]) for v in GOLDEN}
    assert {("milestone", "EUR"), ("milestone", "USD"), ("retainer", "GBP")} <= kinds
    assert any(v["terms"]["riders"] for v in GOLDEN) and any(not v["terms"]["title"].isascii() for v in GOLDEN)


@pytest.mark.parametrize("number", range(len(GOLDEN)))
def test_stored_terms_hash_to_the_stored_hash(number):
    version = GOLDEN[number]
    assert terms_hash(version["terms"]) == version["terms_hash"]


def test_the_canonical_form_keeps_words_as_utf_8_not_escapes():
    retainer = next(v for v in GOLDEN if v["terms"]["kind"] == "retainer")
    assert "Pâtisserie Zoë".encode() in canonical_terms(retainer["terms"])


async def test_terms_read_back_from_postgres_hash_the_same(app, db, client, contractor):
    """JSONB reorders keys and normalises nothing else we rely on: the hash of what comes back
    is the hash that was signed."""
    from tests.contracts.helpers import sent_contract

    contract, version = await sent_contract(db, client.user, contractor.user)
    for n, golden in enumerate(GOLDEN, start=2):
        db.add(ContractVersion(contract_id=contract.id, number=n, terms=golden["terms"],
                               terms_hash=golden["terms_hash"], created_by=client.user.id))  # fmt: skip
    await db.commit()
    db.expire_all()
    stored = (await db.scalars(select(ContractVersion).where(ContractVersion.number >= 2))).all()
    assert sorted(terms_hash(v.terms) for v in stored) == sorted(v["terms_hash"] for v in GOLDEN)


@pytest.mark.parametrize("number", range(len(GOLDEN)))
def test_typed_terms_give_back_the_stored_terms_and_their_hash(number):
    """Stored terms → `Terms` → canonical JSON: the same bytes, so the same hash."""
    from app.contracts.terms import Terms

    version = GOLDEN[number]
    terms = Terms.from_json(version["terms"])
    assert terms.to_json() == version["terms"]
    assert terms.canonical() == canonical_terms(version["terms"])
    assert terms_hash(terms) == version["terms_hash"]
