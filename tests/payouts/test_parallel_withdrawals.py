"""Two withdrawals at once make one payout: the same form sent twice (one idempotency key), or
two tabs each withdrawing the whole balance (two keys, one balance row lock)."""

import asyncio

from app.escrow.ledger import verify
from app.escrow.models import AccountKind
from tests.conftest import web_client
from tests.payouts.helpers import balance, entries, payouts, ready_contractor, withdraw_form
from tests.support.factories import PASSWORD


async def test_two_tabs_withdrawing_everything_at_once_make_one_payout(app, db, contractor):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user)
    async with web_client(app) as second_tab:
        await second_tab.sign_in(contractor.user.email, PASSWORD)
        forms = [await withdraw_form(contractor), await withdraw_form(second_tab)]
        assert forms[0]["idempotency_key"] != forms[1]["idempotency_key"]
        answers = await asyncio.gather(
            contractor.post_form("/earnings/withdraw", {**forms[0], "amount": "900"}),
            second_tab.post_form("/earnings/withdraw", {**forms[1], "amount": "900"}),
        )
    assert sorted(a.status_code for a in answers) == [303, 422]
    refused = next(a for a in answers if a.status_code == 422)
    assert "You have €0.00 available" in refused.text
    assert len(await payouts(db, me_id)) == 1
    assert await entries(db, "payout:") == 1
    assert await balance(db, AccountKind.contractor_payable, me_id) == 0
    assert (await verify(db)).ok


async def test_the_same_form_sent_twice_makes_one_payout(app, db, contractor):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user)
    form = {**await withdraw_form(contractor), "amount": "100"}
    first, second = await asyncio.gather(
        contractor.post_form("/earnings/withdraw", form), contractor.post_form("/earnings/withdraw", form)
    )
    # One runs; the other waits for it (409, still running) or gets its answer again (303).
    assert {first.status_code, second.status_code} <= {303, 409} and 303 in (first.status_code, second.status_code)
    again = await contractor.post_form("/earnings/withdraw", form)
    assert again.status_code == 303 and again.headers["location"] == "/earnings"
    assert len(await payouts(db, me_id)) == 1
    assert await balance(db, AccountKind.contractor_payable, me_id) == 80_000
