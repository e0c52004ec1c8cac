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
