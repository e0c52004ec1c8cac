"""Money parsing and arithmetic: exact, per currency, with messages for people."""

import pytest

from app.money import Money, MoneyError, total


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("1200", 120000),
        ("1200.5", 120050),
        ("1 200,50", 120050),
        ("1,200", 120000),
        ("€12.05", 1205),
        ("12,5", 1250),
        ("1,200.50", 120050),
    ],
)
def test_amounts_people_type_are_read_exactly(text, minor):
    assert Money.parse(text).amount_minor == minor


@pytest.mark.parametrize("text", ["", "abc", "12.345", "-5", "1e3", "12..3"])
def test_anything_else_is_refused_with_a_message(text):
    with pytest.raises(MoneyError, match="Enter an amount"):
        Money.parse(text)


def test_arithmetic_stays_in_one_currency():
    assert (Money(1050) + Money(25)).amount_minor == 1075
    assert total([Money(1), Money(2), Money(3)]) == Money(6)
    with pytest.raises(MoneyError):
        Money(1, "EUR") + Money(1, "USD")
    with pytest.raises(TypeError):
        Money(10.5)  # type: ignore[arg-type]


def test_formatting_for_people():
    assert Money(120050).format() == "€1,200.50"
    assert Money(-5, "GBP").format() == "-£0.05"
