"""Nobody sees what is not theirs: /earnings is for contractors (others 404, visitors sign in
first), shows only the signed-in contractor's money, and another contractor's sandbox bank page
is 404 whether read or posted to."""

from urllib.parse import urlsplit

from sqlalchemy import select

from app.payments.models import SandboxPayoutAccount
from tests.payouts.helpers import payouts, ready_contractor, withdraw_form


async def test_earnings_are_for_contractors_only(client, admin, anonymous):
    assert (await client.get("/earnings")).status_code == 404
    assert (await admin.get("/earnings")).status_code == 404
    assert (await client.post_form("/earnings/withdraw", {"amount": "10", "currency": "EUR",
                                                          "idempotency_key": "k" * 20})).status_code == 404  # fmt: skip
    assert (await client.post_form("/earnings/method")).status_code == 404
    visitor = await anonymous.get("/earnings")
    assert visitor.status_code in (302, 303) and visitor.headers["location"] == "/login?next=/earnings"


async def test_another_contractor_sees_none_of_my_money_nor_my_bank_page(app, db, contractor, other_contractor):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user)
    withdrawn = await contractor.post_form("/earnings/withdraw", {**await withdraw_form(contractor), "amount": "500"})
    assert withdrawn.status_code == 303
    [payout] = await payouts(db, me_id)

    theirs = await other_contractor.get("/earnings")
    assert theirs.status_code == 200
    assert "€900.00" not in theirs.text and "€500.00" not in theirs.text and payout.public_id not in theirs.text
    assert "Nothing earned yet" in theirs.text and "Set up your bank account" in theirs.text

    account_id = await db.scalar(select(SandboxPayoutAccount.id).where(SandboxPayoutAccount.user_id == me_id))
    assert (await other_contractor.get(f"/sandbox/bank/{account_id}")).status_code == 404
    posted = await other_contractor.post_form(f"/sandbox/bank/{account_id}",
                                              {"holder_name": "Thief", "iban": "DE62 3704 0044 0532 0130 01"})  # fmt: skip
    assert posted.status_code == 404
    account = await db.get(SandboxPayoutAccount, account_id, populate_existing=True)
    assert account.holder_name == "Noor Designer" and not account.fails_payouts
    # Their own set-up makes their own account, never mine.
    go = await other_contractor.post_form("/earnings/method")
    assert account_id not in go.headers["location"] and urlsplit(go.headers["location"]).path.startswith(
        "/sandbox/bank/"
    )
