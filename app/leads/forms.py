"""Lead forms: a lead as the API sends it (JSON) and as the public quote form sends it, read into one typed input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.accounts.services import EMAIL_PATTERN, normalize_email
from app.errors import FormError
from app.web.forms import Errors, text

FIELDS: dict[str, tuple[bool, int]] = {
    # name: (required, max length)
    "name": (True, 200),
    "email": (True, 320),
    "title": (True, 200),
    "description": (True, 10_000),
    "phone": (False, 40),
    "budget": (False, 100),
}
QUOTE_FIELDS = ("name", "email", "phone", "title", "description", "budget")
# The API's terse messages, said for people on the quote form.
_FOR_PEOPLE = {
    "name": "Tell us your name.",
    "email": "Enter an e-mail address like name@example.com.",
    "title": "Give your request a short title.",
    "description": "Describe the work you need.",
}
_TERSE = ("This field is required.", "Must be an e-mail address.")


@dataclass(frozen=True)
class LeadInput:
    name: str
    email: str
    title: str
    description: str
    phone: str | None = None
    budget: str | None = None


def _is_text(value: str) -> bool:
    """JSON can carry lone surrogates ("\\udcff"), which no database text column can store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_lead(payload: Any) -> LeadInput:
    """The lead's fields from the API's JSON body, or FormError naming each problem (the API answers 422 with them)."""
    if not isinstance(payload, dict):
        raise FormError({"body": ["Send a JSON object."]})
    errors = Errors()
    cleaned: dict[str, str] = {}
    for name, (required, limit) in FIELDS.items():
        value = payload.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors.add(name, "This field is required.")
            continue
        if not isinstance(value, str):
            errors.add(name, "Must be a string.")
            continue
        if not _is_text(value):
            errors.add(name, "Must be text: it contains an escape (like \\udcff) that is half a character.")
            continue
        if len(value) > limit:
            errors.add(name, f"At most {limit} characters.")
            continue
        cleaned[name] = value.strip()
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        errors.add("unknown", f"Unknown field(s): {', '.join(unknown)}.")
    if "email" in cleaned and not EMAIL_PATTERN.match(normalize_email(cleaned["email"])):
        errors["email"] = ["Must be an e-mail address."]
    if errors:
        raise FormError(errors)
    return LeadInput(**cleaned)


def read_quote(data: dict[str, Any]) -> LeadInput:
    """The public quote form: the same rules as the API, with messages written for people."""
    typed = {name: text(data, name) for name in QUOTE_FIELDS}
    try:
        return read_lead({name: value for name, value in typed.items() if value})
    except FormError as exc:
        errors = {
            name: [_FOR_PEOPLE.get(name, problems[0]) if problems[0] in _TERSE else problems[0]]
            for name, problems in exc.errors.items()
        }
        raise FormError(errors) from None
