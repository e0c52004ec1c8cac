"""Rules that turn a raw quote request into something a contractor can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.money import CURRENCIES, Money

CATEGORIES: dict[str, tuple[str, ...]] = {
    "design": ("logo", "design", "brand", "illustration", "figma", "ui", "ux", "poster", "flyer"),
    "development": (
        "website",
        "web site",
        "app",
        "python",
        "django",
        "react",
        "wordpress",
        "shopify",
        "api",
        "software",
        "bug",
    ),
    "writing": ("copy", "article", "blog", "translate", "translation", "proofread", "content", "writer"),
    "marketing": ("seo", "ads", "marketing", "social media", "campaign", "newsletter"),
    "video": ("video", "animation", "editing", "youtube", "motion"),
    "data": ("data", "excel", "spreadsheet", "dashboard", "analysis", "scraping"),
}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d\s().-]{6,}\d(?!\w)")
_AMOUNT = re.compile(
    r"(?P<pre>[€$£])?\s*(?P<num>\d{1,3}(?:[.,\s]\d{3})+|\d+(?:[.,]\d{1,2})?)\s*(?P<k>[kK])?\s*(?P<post>eur|euros?|usd|dollars?|gbp|pounds?|[€$£])?",
    re.IGNORECASE,
)
_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP"}
_WORDS = {
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
}


@dataclass(frozen=True)
class Enriched:
    category: str
    budget: Money | None
    public_description: str
    quality_score: int


def detect_category(title: str, description: str) -> str:
    text = f" {title} {description} ".lower()
    scores = {
        name: sum(1 for word in words if re.search(rf"\b{re.escape(word)}\b", text))
        for name, words in CATEGORIES.items()
    }
    best = max(scores, key=lambda name: scores[name])
    return best if scores[best] else "other"


def parse_budget(*texts: str | None) -> Money | None:
    """The first amount with a currency sign or word ('€1,500', '2k USD', '800 euros')."""
    for text in texts:
        for match in _AMOUNT.finditer(text or ""):
            post = (match.group("post") or "").lower()
            currency = _SYMBOLS.get(match.group("pre") or "") or _SYMBOLS.get(post) or _WORDS.get(post)
            if currency is None or currency not in CURRENCIES:
                continue
            number = re.sub(r"[\s.,](?=\d{3}\b)", "", match.group("num")).replace(",", ".")
            try:
                amount = Money.from_decimal(number, currency)
            except ValueError:
                continue
            if match.group("k"):
                amount = Money(amount.amount_minor * 1000, currency)
            if amount.amount_minor > 0:
                return amount
    return None


def mask_contacts(text: str) -> str:
    """Contact details stay with Pactline: contractors talk to the client through the platform."""
    return _PHONE.sub("[phone number hidden]", _EMAIL.sub("[e-mail hidden]", text))


def quality_score(title: str, description: str, budget: Money | None, category: str, masked: bool) -> int:
    score = 0
    score += 20 if 10 <= len(title) <= 120 else 5
    score += min(35, len(description) // 12)
    score += 20 if budget else 0
    score += 15 if category != "other" else 0
    score += 10 if not title.isupper() else 0
    score -= 10 if masked else 0
    return max(0, min(100, score))


def enrich(title: str, description: str, budget_text: str | None) -> Enriched:
    category = detect_category(title, description)
    budget = parse_budget(budget_text, description)
    public = mask_contacts(description)
    return Enriched(
        category, budget, public, quality_score(title, description, budget, category, public != description)
    )
