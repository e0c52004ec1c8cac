"""Reading the account forms: each `read_<thing>(data)` returns a typed input or raises
`FormError` with a message per field. Only what can be told from the form itself is checked here;
rules that cost time or need the database (password strength, a taken address) are the verbs'
and run after the rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from app.accounts.models import Role
from app.accounts.services import EMAIL_TOO_LONG, MAX_EMAIL_LENGTH, email_problem, normalize_email
from app.errors import FormError
from app.web.forms import checkbox, text
from app.web.urls import path_for

MAX_NEXT_LENGTH = 2000
MAX_NAME_LENGTH = 200


def safe_next(value: str | None, default: str | None = None) -> str:
    """Only same-site paths: never another host, never a scheme-relative URL, never a novel
    (it is kept in the session while two-step sign-in waits, and sent back as a header).
    Anything else gives `default`, the dashboard unless said otherwise."""
    if default is None:
        default = path_for("pages:dashboard")
    if not value or len(value) > MAX_NEXT_LENGTH:
        return default
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[x": not even a URL
        return default
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def read_next(data: dict[str, Any], default: str | None = None) -> str:
    """The same-site page to go on to after the form (the hidden `next` field)."""
    return safe_next(text(data, "next"), default)


def password(data: dict[str, Any], name: str = "password") -> str:
    """Passwords are taken as typed: no trimming (a space is a character like any other)."""
    return str(data.get(name, ""))


def shown(data: dict[str, Any], *names: str) -> dict[str, str]:
    """What was typed, to show again in a re-rendered form; an address too long to be one is not."""
    form = {name: text(data, name) for name in names}
    if len(form.get("email", "")) > MAX_EMAIL_LENGTH:
        form["email"] = ""
    return form


# ---------------------------------------------------------------- signing in


@dataclass(frozen=True)
class SignInInput:
    email: str
    password: str
    remember: bool
    next: str


def read_sign_in(data: dict[str, Any]) -> SignInInput:
    """Before anything else: the address becomes a limiter subject and a query parameter."""
    entry = SignInInput(text(data, "email"), password(data), checkbox(data, "remember"), read_next(data))
    errors: dict[str, list[str]] = {}
    if problem := email_problem(entry.email, check_format=False):
        errors["email"] = [problem]
    if not entry.password:
        errors["password"] = ["Enter your password."]
    if errors:
        raise FormError(errors)
    return entry


@dataclass(frozen=True)
class SecondStepInput:
    code: str
    recovery_code: str


def read_second_step(data: dict[str, Any]) -> SecondStepInput:
    return SecondStepInput(text(data, "code"), text(data, "recovery_code"))


@dataclass(frozen=True)
class ConfirmInput:
    """The step-up answer: the authenticator code when two-step sign-in is on, else the password."""

    code: str
    password: str


def read_confirm(data: dict[str, Any]) -> ConfirmInput:
    return ConfirmInput(text(data, "code"), password(data))


# ---------------------------------------------------------------- signing up and passwords


@dataclass(frozen=True)
class SignUpInput:
    name: str
    email: str
    password: str
    role: Role | None
    next: str


def read_sign_up(data: dict[str, Any]) -> SignUpInput:
    email = text(data, "email")
    if len(email) > MAX_EMAIL_LENGTH:
        raise FormError({"email": [EMAIL_TOO_LONG]})
    role = text(data, "role")
    return SignUpInput(
        name=text(data, "name"),
        email=email,
        password=password(data),
        role=Role(role) if role in ("client", "contractor") else None,
        next=read_next(data, ""),
    )


@dataclass(frozen=True)
class PasswordHintInput:
    password: str
    name: str
    email: str


def read_password_hint(data: dict[str, Any]) -> PasswordHintInput:
    return PasswordHintInput(password(data), text(data, "name"), text(data, "email"))


@dataclass(frozen=True)
class EmailInput:
    email: str


def read_reset_request(data: dict[str, Any]) -> EmailInput:
    email = text(data, "email")
    if problem := email_problem(email):
        raise FormError({"email": [problem]})
    return EmailInput(email)


@dataclass(frozen=True)
class NewPasswordInput:
    password: str


def read_new_password(data: dict[str, Any]) -> NewPasswordInput:
    return NewPasswordInput(password(data))


@dataclass(frozen=True)
class PasswordChangeInput:
    current: str
    new: str


def read_password_change(data: dict[str, Any]) -> PasswordChangeInput:
    return PasswordChangeInput(password(data, "current_password"), password(data, "new_password"))


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class NameInput:
    name: str


def read_name(data: dict[str, Any]) -> NameInput:
    name = text(data, "name")
    if not name or len(name) > MAX_NAME_LENGTH:
        raise FormError({"name": [f"Enter your name (up to {MAX_NAME_LENGTH} characters)."]})
    return NameInput(name)


@dataclass(frozen=True)
class TimeZoneInput:
    time_zone: str


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """The IANA names this machine knows (what the field suggests), sorted; "localtime" (the
    server's own clock) and "Factory" are not places."""
    return tuple(sorted(available_timezones() - {"localtime", "Factory"}))


def read_time_zone(data: dict[str, Any]) -> TimeZoneInput:
    """An IANA time zone name such as "Europe/Berlin", checked with zoneinfo."""
    name = text(data, "time_zone")
    problem = "Choose a time zone from the list, such as Europe/Berlin or America/New_York."
    if not name or len(name) > 64:
        raise FormError({"time_zone": [problem]})
    if name not in time_zones():
        raise FormError({"time_zone": [problem]})
    try:
        ZoneInfo(name)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        raise FormError({"time_zone": [problem]}) from None
    return TimeZoneInput(name)


def read_email_change(data: dict[str, Any]) -> EmailInput:
    """The new address, normalized; its other rules (format, taken) are the verb's."""
    email = normalize_email(text(data, "email"))
    if len(email) > MAX_EMAIL_LENGTH:
        raise FormError({"email": [EMAIL_TOO_LONG]})
    return EmailInput(email)


@dataclass(frozen=True)
class CodeInput:
    code: str


def read_code(data: dict[str, Any]) -> CodeInput:
    return CodeInput(text(data, "code"))


@dataclass(frozen=True)
class DeviceInput:
    """A handle for one of the person's own devices (sessions.device_handle), never a session id."""

    handle: str


def read_device(data: dict[str, Any]) -> DeviceInput:
    return DeviceInput(text(data, "device"))


@dataclass(frozen=True)
class OAuthSignUpInput:
    name: str
    role: str


def read_oauth_sign_up(data: dict[str, Any]) -> OAuthSignUpInput:
    """Checked by `oauth.create_account`, which also serves accounts made without a form."""
    return OAuthSignUpInput(text(data, "name"), text(data, "role"))
