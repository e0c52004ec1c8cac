"""Decision 0027: one way for each idiom. Each test names the file and line that says it another way."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Controller
from litestar.router import Router

from app.routes import route_handlers

APP = Path(__file__).resolve().parents[2] / "app"


def _lines(pattern: str, *, allowed: tuple[str, ...] = ()) -> list[str]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        name = path.relative_to(APP.parent).as_posix()
        if name in allowed:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line):
                found.append(f"{name}:{number}: {line.strip()}")
    return found


def test_every_route_is_a_controller_method():
    loose = [
        getattr(handler, "name", None) or repr(handler)
        for handler in route_handlers(dev=True)
        if not (isinstance(handler, type) and issubclass(handler, Controller))
        and not (isinstance(handler, Router) and handler.path == "/static")
    ]
    assert loose == []
    assert _lines(r"^HANDLERS\b|\bRouter\(|^@(get|post|put|patch|delete|route)\(") == []


def test_handlers_ask_for_the_user_instead_of_reading_the_scope():
    # Middleware runs before dependencies: it reads the scope the sign-in middleware filled.
    middleware = ("app/accounts/guards.py", "app/web/security.py", "app/web/templating.py")
    assert _lines(r'scope\["user"\]|scope\.get\("user"\)|def _user\(', allowed=middleware) == []


def test_forms_are_read_in_forms_modules():
    # Besides forms.py: the amendment rules check a parsed proposal against the contract as it
    # stands and answer per field of the same form.
    offenders = [
        line
        for line in _lines(r"\bErrors\(\)", allowed=("app/contracts/amendments/rules.py",))
        if not line.split(":")[0].endswith("forms.py")
    ]
    assert offenders == []


def test_code_builds_paths_from_route_names():
    prefixes = "contracts|jobs|proposals|dashboard|invitations|company|profile|settings|login|signup|admin|files|verify|quote|api|dev|c|auth|reset|messages|events"
    assert _lines(rf"""f["'](/({prefixes})\b)""", allowed=("app/web/templating.py",)) == []
