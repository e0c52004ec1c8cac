"""Withdraw refused, in place and in plain words: no verified identity (with a link to verify), no
bank account (with a way to set one up), below the minimum or above what is available (422 next to
the Amount field). Nothing leaves the balance."""

import re

from app.escrow.models import AccountKind
from tests.payouts.helpers import (
    balance,
    bank_account,
    earn,
    entries,
    payouts,
    ready_contractor,
    verify_identity,
    withdraw_form,
)


def amount_errors(html: str) -> str:
    """The error list the Amount field of the EUR form points at (aria-describedby)."""
    found = re.search(r'<ul class="field__errors" id="amount-EUR-error">(.*?)</ul>', html, re.S)
    assert found, "no error next to the Amount field"
    assert 'aria-describedby="amount-EUR-hint amount-EUR-error" aria-invalid="true"' in html
    return re.sub(r"<[^>]+>", "", found.group(1))


async def nothing_moved(db, user_id):
    assert await payouts(db, user_id) == []
    assert await balance(db, AccountKind.contractor_payable, user_id) == 90_000
    assert await entries(db, "payout:") == 0


async def test_an_unverified_contractor_is_refused_with_a_link_to_verification(app, db, contractor):
    me_id = contractor.user.id
    await earn(db, contractor.user)
    await bank_account(app, contractor.user)
    page = await contractor.get("/earnings")
    assert 'href="/profile/verification"' in page.text  # said before pressing, too
    response = await contractor.post_form("/earnings/withdraw", {**await withdraw_form(contractor), "amount": "900"})
    assert response.status_code == 409
    refusal = re.search(r'id="withdraw-refused">(.*?)</div>', response.text, re.S).group(1)
    assert "we need to confirm who you are" in refusal
    assert '<a href="/profile/verification">Verify your identity</a>' in refusal
    await nothing_moved(db, me_id)


async def test_without_a_bank_account_the_refusal_says_to_set_one_up(app, db, contractor):
    me_id = contractor.user.id
    await earn(db, contractor.user)
    await verify_identity(db, contractor.user)
    response = await contractor.post_form("/earnings/withdraw", {**await withdraw_form(contractor), "amount": "900"})
    assert response.status_code == 409
    refusal = re.search(r'id="withdraw-refused">(.*?)</div>', response.text, re.S).group(1)
    assert "tell us where to pay you" in refusal and 'href="#payout-method"' in refusal
    assert "Set up your bank account" in response.text
    await nothing_moved(db, me_id)


async def test_below_the_minimum_is_refused_next_to_the_amount(app, db, contractor):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user)
    response = await contractor.post_form("/earnings/withdraw", {**await withdraw_form(contractor), "amount": "9.99"})
    assert response.status_code == 422
    assert amount_errors(response.text).strip() == ("Error: The smallest withdrawal is €10.00. You asked for €9.99.")
    assert 'value="9.99"' in response.text  # what was typed stays
    await nothing_moved(db, me_id)


async def test_more_than_is_available_is_refused_next_to_the_amount(app, db, contractor):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user)
    response = await contractor.post_form("/earnings/withdraw", {**await withdraw_form(contractor), "amount": "900.01"})
    assert response.status_code == 422
    assert "You have €900.00 available, so you cannot withdraw €900.01." in amount_errors(response.text)
    await nothing_moved(db, me_id)


async def test_an_amount_that_is_not_money_is_refused_next_to_the_field(app, db, contractor):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user)
    for typed in ("", "ten euros", "-5", "1.234"):
        response = await contractor.post_form(
            "/earnings/withdraw", {**await withdraw_form(contractor), "amount": typed}
        )
        assert response.status_code == 422, typed
        assert amount_errors(response.text)
    await nothing_moved(db, me_id)
