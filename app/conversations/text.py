"""What a message's text looks like on the page (escaped, web links clickable) and whether it seems
to share contact or payment details (decision 0043)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

MAX_BODY = 5000
"""The longest message we keep, in characters: several paragraphs; longer texts belong in a file."""

LINK_REL = "noopener nofollow ugc"

# Only http(s) addresses become links: "javascript:", "data:" and the like stay plain text.
_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\")]}»”’"


def _trim(url: str) -> tuple[str, str]:
    """An address at the end of a sentence: the full stop or closing bracket is not part of it
    (a bracket opened inside the address, as in a Wikipedia link, is)."""
    tail = ""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        tail = url[-1] + tail
        url = url[:-1]
    return url, tail


def linkify(text: str) -> Markup:
    """The text as HTML: every piece escaped, and each http(s) address an <a> whose href is the
    same escaped address. Line breaks are kept by the stylesheet (white-space: pre-wrap)."""
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url, tail = _trim(match.group(0))
        if len(url) <= len("https://"):
            continue
        parts.append(str(escape(text[position : match.start()])))
        parts.append(str(Markup('<a href="{0}" rel="{1}">{0}</a>').format(url, LINK_REL)))
        parts.append(str(escape(tail)))
        position = match.end()
    parts.append(str(escape(text[position:])))
    return Markup("".join(parts))  # noqa: S704 — built only from escaped pieces above


# ------------------------------------------------------------------ contact and payment details

_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
# A run of digits with the separators people put in phone numbers; judged by _looks_like_phone.
_NUMBER_RUN = re.compile(r"(?<![\w+])(\+\s?)?\(?\d[\d \u00a0().\-/]{4,}\d(?!\w)")
_DATE = re.compile(r"^(\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:[ \u00a0.]\d{3})+(?:[.,]\d{1,2})?$")
_RANGE = re.compile(r"^\d+(?:[.,]\d+)?\s?[-/]\s?\d+(?:[.,]\d+)?$")
_PAYMENT = [
    re.compile(r"\bpaypal\.me/\S+", re.IGNORECASE),
    re.compile(r"\bpaypal\b.{0,30}@", re.IGNORECASE),
    re.compile(r"\bvenmo\b.{0,30}@[\w-]{2,}", re.IGNORECASE),
    re.compile(r"@[\w-]{2,}\s+(?:on|via|at)\s+venmo\b", re.IGNORECASE),
    re.compile(r"\bvenmo\.com/\S+", re.IGNORECASE),
    re.compile(r"\bcash\s?app\b.{0,30}\$[^\W\d][\w]{1,19}", re.IGNORECASE),
    re.compile(r"\$[^\W\d][\w]{1,19}\s+(?:on|via|at)\s+cash\s?app\b", re.IGNORECASE),
    re.compile(r"\bcash\.app/\S+", re.IGNORECASE),
    re.compile(r"\bwise\.com/pay\b", re.IGNORECASE),
    re.compile(r"\brevolut\.me/\S+", re.IGNORECASE),
    # IBAN: country code, two check digits, then 11 to 30 letters and digits, often in groups of four.
    re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b"),
]


def _looks_like_phone(run: str) -> bool:
    candidate = run.strip()
    digits = sum(ch.isdigit() for ch in candidate)
    if not 7 <= digits <= 15:
        return False
    if candidate.startswith("+"):
        return True
    bare = candidate.replace("(", "").replace(")", "")
    return not (_DATE.match(bare) or _THOUSANDS.match(bare) or _RANGE.match(bare))


def shares_contact_details(text: str) -> bool:
    """True when the text seems to carry an e-mail address, a phone number or a payment handle.
    A gentle hint, not a filter: it errs towards silence on amounts ("1,500.00", "1 500 €"),
    dates ("2026-12-01") and ranges ("10-20"), so people are not nagged for ordinary talk."""
    if _EMAIL.search(text):
        return True
    if any(_looks_like_phone(match.group(0)) for match in _NUMBER_RUN.finditer(text)):
        return True
    return any(pattern.search(text) for pattern in _PAYMENT)


CONTACT_NOTE = "This message seems to share contact or payment details. Keep payments on Pactline to stay protected."
