"""Everything a person should hear about goes through notify() (ADR 0046): no service publishes
a toast of its own any more, and e-mails outside notifications are only the ones that cannot be
turned off (account security, mail to addresses without an account, the operator's test mail)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

# Direct e-mails that are not notifications, and why.
DIRECT_EMAIL = {
    "app/mail/services.py",  # the helper itself
    "app/accounts/emails.py",  # account security: confirm address, reset, e-mail change, two-step sign-in
    "app/cli.py",  # `pactline send-test-email`, the operator's check of SMTP
    "app/leads/tasks.py",  # the answer to a quote request, to the address that asked
}


def calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            yield name, node


def literal_strings(node: ast.Call) -> list[str]:
    return [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def sources():
    for path in sorted(APP.rglob("*.py")):
        yield path.relative_to(APP.parent).as_posix(), ast.parse(path.read_text(), filename=str(path))


def test_no_service_publishes_a_toast_of_its_own():
    found = [
        f"{name}:{node.lineno}"
        for name, tree in sources()
        for call, node in calls(tree)
        if call == "publish" and "toast" in literal_strings(node)
    ]
    assert found == [], "tell people through notify(), not a toast event"


def test_emails_outside_notifications_are_only_the_ones_that_cannot_be_turned_off():
    found = set()
    for name, tree in sources():
        for call, node in calls(tree):
            if call == "send_email_later" or (call == "defer" and "send_email" in literal_strings(node)):
                found.add(name)
    assert found <= DIRECT_EMAIL, f"these send e-mails outside notify(): {sorted(found - DIRECT_EMAIL)}"
    assert "app/accounts/emails.py" in found  # the check still sees calls


def test_the_checker_sees_a_toast_and_an_email():
    tree = ast.parse('publish(db, 1, "toast", {})\nsend_email_later(db, to="a")\ndefer(db, "send_email")')
    names = [(call, literal_strings(node)) for call, node in calls(tree)]
    assert ("publish", ["toast"]) in names and ("send_email_later", []) in names
    assert ("defer", ["send_email"]) in names
