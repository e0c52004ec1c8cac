"""The sandbox bank page's form: the account holder's name and one of the test IBANs."""

from __future__ import annotations

from app.errors import FormError
from app.payments import sandbox_payouts
from app.web.forms import Errors, text

HOLDER_MAX = 200


def read_bank_details(data: dict) -> tuple[str, sandbox_payouts.TestIban]:
    """ "Account holder" and "IBAN" from the sandbox's page: a name, and one of the test IBANs."""
    errors = Errors()
    holder = text(data, "holder_name")
    if not holder:
        errors.add("holder_name", "Enter the name the bank account is in.")
    elif len(holder) > HOLDER_MAX or not holder.isprintable():
        errors.add("holder_name", f"Enter the account holder's name in up to {HOLDER_MAX} letters.")
    compact = text(data, "iban").replace(" ", "").upper()
    iban = next((t for t in sandbox_payouts.TEST_IBANS if t.compact == compact), None)
    if not compact:
        errors.add("iban", "Enter the account's IBAN.")
    elif iban is None:
        errors.add("iban", "This is the sandbox: use one of the test IBANs listed above. No real account is paid.")
    if errors:
        raise FormError(errors)
    assert iban is not None
    return holder, iban
