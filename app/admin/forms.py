"""Console forms: suspending someone and adding an admin, read into typed inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.accounts.services import EMAIL_PATTERN, has_control_characters, normalize_email
from app.errors import FormError
from app.web.forms import Errors, text

REASON_MAX = 500  # the column's size
DEFAULT_REASON = "Suspended by an administrator."


@dataclass(frozen=True)
class SuspensionInput:
    reason: str


def read_suspension(data: dict[str, Any]) -> SuspensionInput:
    reason = text(data, "reason") or DEFAULT_REASON
    if len(reason) > REASON_MAX or has_control_characters(reason):
        raise FormError({"reason": [f"Write the reason in plain words, up to {REASON_MAX} characters."]})
    return SuspensionInput(reason=reason)


@dataclass(frozen=True)
class NewAdminInput:
    email: str
    name: str


def read_new_admin(data: dict[str, Any]) -> NewAdminInput:
    email, name = normalize_email(text(data, "email")), text(data, "name")
    errors = Errors()
    if not name or len(name) > 200 or has_control_characters(name):
        errors.add("name", "Enter their name (up to 200 characters).")
    if not EMAIL_PATTERN.match(email):
        errors.add("email", "Enter an e-mail address like name@example.com.")
    if errors:
        raise FormError(errors)
    return NewAdminInput(email=email, name=name)
