"""No input makes a 5xx: NUL bytes, a megabyte, non-ASCII digits and scripts in the Amount field
of Withdraw and in the sandbox bank page's fields get a 4xx with a message, and move nothing."""

import pytest
from sqlalchemy import select

from app.escrow.models import AccountKind
from app.payments.models import SandboxPayoutAccount
from tests.payouts.helpers import balance, payouts, ready_contractor, withdraw_form

HOSTILE = ["\x00", "9\x00", "x" * 1_000_000, "٩٠٠", "９００", "1e3", "NaN", "∞", "𝟗𝟎𝟎", "<script>", "9" * 30, "9" * 41]
REFUSED_NAMES = ["\x00", "9\x00", "x" * 1_000_000]  # any other printable name is a name


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:12]))
async def test_hostile_amounts_are_refused_not_crashed_on(app, db, contractor, value):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user)
    response = await contractor.post_form("/earnings/withdraw", {**await withdraw_form(contractor), "amount": value})
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    for currency in (value, "EUR\x00"):
        odd = await contractor.post_form("/earnings/withdraw", {**await withdraw_form(contractor), "amount": "50",
                                                                "currency": currency})  # fmt: skip
        assert 400 <= odd.status_code < 500
    assert await payouts(db, me_id) == [] or all(p.amount_minor == 90_000 for p in await payouts(db, me_id))
    assert await balance(db, AccountKind.contractor_payable, me_id) in (0, 90_000)


async def test_hostile_bank_details_are_refused_not_crashed_on(app, db, contractor):
    me_id = contractor.user.id
    go = await contractor.post_form("/earnings/method")
    action = go.headers["location"].split("?")[0]
    for value in HOSTILE:
        for field in ("holder_name", "iban", "return_to"):
            form = {
                "holder_name": "Noor",
                "iban": "DE89 3704 0044 0532 0130 00",
                "return_to": "/earnings",
                field: value,
            }
            response = await contractor.post_form(action, form)
            assert response.status_code < 500, (field, value[:12], response.status_code)
            if field == "iban" or (field == "holder_name" and value in REFUSED_NAMES):
                assert 400 <= response.status_code < 500, (field, value[:12])
        page = await contractor.get(action, params={"return_to": value[:2000]})
        assert page.status_code < 500
    account = await db.scalar(select(SandboxPayoutAccount).where(SandboxPayoutAccount.user_id == me_id))
    assert "\x00" not in account.holder_name
