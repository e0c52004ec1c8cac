"""The Withdraw form: an amount in one of the contractor's balance currencies."""

from __future__ import annotations

import re
from typing import Any

from app.errors import FormError
from app.money import CURRENCIES, Money, MoneyError
from app.web.forms import Errors, text

AMOUNT_MAX_CHARS = 40
_PLAIN = re.compile(r"[0-9 .,\u00a0" + "".join(re.escape(symbol) for symbol, _ in CURRENCIES.values()) + "]+")


def read_currency(data: dict[str, Any]) -> str | None:
    currency = text(data, "currency")
    return currency if currency in CURRENCIES else None


def read_withdrawal(data: dict[str, Any]) -> Money:
    """ "Amount" (like 1200 or 1200.50) in the hidden `currency` of the form it came from."""
    errors = Errors()
    currency = read_currency(data)
    if currency is None:
        errors.add("currency", "The currency is missing. Reload the page and withdraw again.")
    raw = text(data, "amount")
    amount = None
    if not raw:
        errors.add("amount", "Enter how much to withdraw.")
    elif len(raw) > AMOUNT_MAX_CHARS or not _PLAIN.fullmatch(raw):
        # Digits 0-9 only: other scripts' digits and look-alikes are not what the page showed.
        errors.add("amount", "Enter an amount like 1200 or 1200.50.")
    elif currency is not None:
        try:
            amount = Money.parse(raw, currency)
        except MoneyError as exc:
            errors.add("amount", str(exc))
    if errors:
        raise FormError(errors)
    assert amount is not None
    return amount
