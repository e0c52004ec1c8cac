"""Enrichment rules: category, budget, masked contact details, quality score."""

import pytest

from app.leads.enrichment import detect_category, enrich, mask_contacts, parse_budget
from app.money import Money


@pytest.mark.parametrize(
    ("text", "expected"),
    [("€1,500", Money(150000, "EUR")), ("about 800 euros", Money(80000, "EUR")), ("2k USD", Money(200000, "USD")),
     ("1.200 €", Money(120000, "EUR")), ("£45.50 an hour", Money(4550, "GBP")), ("no idea yet", None), ("call 0170 1234567", None)],
)  # fmt: skip
def test_budgets_are_read_from_plain_text(text, expected):
    assert parse_budget(text) == expected


def test_contact_details_are_masked():
    masked = mask_contacts("Call +49 170 1234567 or write to bob.smith@example.com, thanks")
    assert "1234567" not in masked and "bob.smith" not in masked
    assert "[phone number hidden]" in masked and "[e-mail hidden]" in masked


def test_category_and_score():
    assert detect_category("Logo for a bakery", "we need a fresh brand") == "design"
    assert detect_category("Fix our Shopify shop", "") == "development"
    assert detect_category("Help", "something") == "other"
    rich = enrich("Logo for a bakery in Berlin", "We need a logo and a simple brand guide by June. " * 5, "€900")
    poor = enrich("HELP", "asap", None)
    assert rich.quality_score > poor.quality_score
    assert 0 <= poor.quality_score <= rich.quality_score <= 100
