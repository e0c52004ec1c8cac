"""Money: an integer number of minor units with its ISO currency. Never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CURRENCIES = {"EUR": ("€", 2), "USD": ("$", 2), "GBP": ("£", 2)}
DEFAULT_CURRENCY = "EUR"
_AMOUNT = re.compile(r"^\s*(\d{1,12})(?:[.,](\d{1,2}))?\s*$")


class MoneyError(ValueError):
    """An amount a person typed that is not a valid amount of money."""


@dataclass(frozen=True, order=True)
class Money:
    amount_minor: int
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise TypeError("amount_minor must be an int")
        if self.currency not in CURRENCIES:
            raise MoneyError(f"unsupported currency {self.currency!r}")

    @classmethod
    def parse(cls, text: str, currency: str = DEFAULT_CURRENCY) -> Money:
        """'1200', '1200.5', '1 200,50' → Money. Raises MoneyError with a message for people."""
        cleaned = (text or "").replace(" ", "").replace("\u00a0", "")
        for symbol, _ in CURRENCIES.values():
            cleaned = cleaned.replace(symbol, "")
        if "," in cleaned and "." in cleaned:
            cleaned = cleaned.replace(",", "")  # 1,200.50
        elif cleaned.count(",") == 1:
            whole, fraction = cleaned.split(",")
            # "1,200" groups thousands; "12,5" and "12,50" are decimal commas.
            cleaned = whole + fraction if len(fraction) == 3 else f"{whole}.{fraction}"
        match = _AMOUNT.match(cleaned)
        if not match:
            raise MoneyError("Enter an amount like 1200 or 1200.50.")
        whole, fraction = match.group(1), (match.group(2) or "").ljust(2, "0")
        return cls(int(whole) * 100 + int(fraction or 0), currency)

    @classmethod
    def from_decimal(cls, value: Decimal | str, currency: str = DEFAULT_CURRENCY) -> Money:
        try:
            minor = (Decimal(value) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        except InvalidOperation as exc:
            raise MoneyError("not an amount") from exc
        return cls(int(minor), currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise MoneyError("cannot combine amounts in different currencies")

    @property
    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def format(self) -> str:
        """€1,200.50 — for people."""
        symbol, _ = CURRENCIES[self.currency]
        sign = "-" if self.amount_minor < 0 else ""
        whole, cents = divmod(abs(self.amount_minor), 100)
        return f"{sign}{symbol}{whole:,}.{cents:02d}"

    def __str__(self) -> str:
        return self.format()


def format_minor(amount_minor: int, currency: str) -> str:
    """Minor units kept as a plain int (contract terms) for people: '€1,200.50'. A currency we
    do not handle keeps its code after the amount ('1,200.50 CHF') rather than failing a page."""
    if currency in CURRENCIES:
        return Money(int(amount_minor), currency).format()
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(int(amount_minor)), 100)
    return f"{sign}{whole:,}.{cents:02d} {currency}".rstrip()


def total(amounts: list[Money], currency: str = DEFAULT_CURRENCY) -> Money:
    result = Money(0, currency)
    for amount in amounts:
        result = result + amount
    return result
