"""The sandbox checkout's form: a card number that must be one of the test cards."""

from __future__ import annotations

from typing import Any

from app.errors import FormError
from app.payments.sandbox import TEST_CARDS, TestCard
from app.web.forms import text

NOT_A_TEST_CARD = "Use one of the sandbox test cards listed above."


def read_card(data: dict[str, Any]) -> TestCard:
    """The test card typed in `card_number` (spaces and dashes allowed), or FormError."""
    typed = text(data, "card_number")
    digits = typed.replace(" ", "").replace("-", "").replace("\u00a0", "")
    if not typed:
        raise FormError({"card_number": ["Enter the card number. " + NOT_A_TEST_CARD]})
    for card in TEST_CARDS:
        if digits == card.digits:
            return card
    raise FormError({"card_number": [NOT_A_TEST_CARD]})
