"""EU VAT number formats (the shape only; whether a number is registered is the registry's job)."""

from __future__ import annotations

import re

# Country code as used in VAT numbers (Greece is EL) → pattern for what follows it.
_PATTERNS = {
    "AT": r"U\d{8}", "BE": r"[01]\d{9}", "BG": r"\d{9,10}", "CY": r"\d{8}[A-Z]", "CZ": r"\d{8,10}",
    "DE": r"\d{9}", "DK": r"\d{8}", "EE": r"\d{9}", "EL": r"\d{9}", "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}", "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}", "HR": r"\d{11}", "HU": r"\d{8}",
    "IE": r"\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W]", "IT": r"\d{11}", "LT": r"\d{9}|\d{12}", "LU": r"\d{8}",
    "LV": r"\d{11}", "MT": r"\d{8}", "NL": r"\d{9}B\d{2}", "PL": r"\d{10}", "PT": r"\d{9}", "RO": r"\d{2,10}",
    "SE": r"\d{10}01", "SI": r"\d{8}", "SK": r"\d{10}",
}  # fmt: skip
EU_COUNTRIES = {"GR" if code == "EL" else code for code in _PATTERNS}


def normalise(vat_id: str) -> str:
    return re.sub(r"[\s.\-]", "", vat_id or "").upper()


def vat_problem(country: str, vat_id: str) -> str | None:
    """A message for people when the VAT ID cannot be right for an EU country; None when fine
    (or when the country is outside the EU, where formats are not checked)."""
    if country not in EU_COUNTRIES or not vat_id:
        return None
    prefix = "EL" if country == "GR" else country
    value = normalise(vat_id)
    if not value.startswith(prefix):
        return f"A VAT number from this country starts with {prefix}, like {prefix}{_example(prefix)}."
    if not re.fullmatch(_PATTERNS[prefix], value[len(prefix) :]):
        return f"This doesn't look like a {prefix} VAT number. Check it on your VAT registration."
    return None


def _example(prefix: str) -> str:
    return {"DE": "123456789", "FR": "AB123456789", "NL": "123456789B01", "AT": "U12345678"}.get(prefix, "…")
