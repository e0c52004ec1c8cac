"""The provider's word on a payout arrives as a signed webhook and is re-read before it is applied:
"paid" twice (the same event, or a second event) moves the money once; "failed" returns it to the
balance, says why in plain words, and asks the provider to take the money back."""

from sqlalchemy import select

from app.escrow.ledger import verify
from app.escrow.models import AccountKind
from app.money import Money
from app.payments import sandbox_payouts
from app.payments.models import SandboxEvent, SandboxPayout
from app.payments.provider import PayoutState, ProviderPayout
from app.payments.tasks import webhook_request
from app.payouts import services
from app.payouts.models import PayoutStatus
from app.worker.models import OutboxJob
from tests.payouts.helpers import balance, entries, payouts, ready_contractor, wait_for, withdraw_form
from tests.support.notifications import mails_where, notifications_of, text_of

SIX_HUNDRED = Money(60_000, "EUR")


async def request(app, db, user, amount=SIX_HUNDRED):
    payout = await services.request_payout(db, user, amount, provider="sandbox", minimum_minor=1000)
    await db.commit()
    return payout.public_id


async def test_payout_paid_delivered_twice_moves_the_money_once(
    app, db, contractor, anonymous, held_webhooks, smtp_server
):
    me, me_id = contractor.user, contractor.user.id
    await ready_contractor(app, db, me)
    public_id = await request(app, db, me)

    async def settled():  # the worker sent it; the sandbox bank paid it; its webhook is held
        row = await db.scalar(select(SandboxPayout).where(SandboxPayout.reference == public_id)
                              .execution_options(populate_existing=True))  # fmt: skip
        return row if row is not None and row.status == "paid" else None

    row = await wait_for(settled, what="the sandbox paying the payout")
    event = await db.scalar(
        select(SandboxEvent).where(SandboxEvent.object_id == row.id, SandboxEvent.type == "payout.paid")
    )
    [payout] = await payouts(db, me_id)
    assert payout.status == PayoutStatus.sent
    [on_its_way] = await notifications_of(db, me_id, "payout.sent")
    assert on_its_way.title == "Your payout of €600.00 is on its way to your bank." and on_its_way.link == "/earnings"

    body, headers = webhook_request(app.state.settings, event)
    first = await anonymous.post("/webhooks/sandbox", content=body, headers=headers)
    again = await anonymous.post("/webhooks/sandbox", content=body, headers=headers)
    assert first.json() == {"status": "processed"} and again.json() == {"status": "duplicate"}
    # The sandbox saying it again under a new event id changes nothing either.
    twin = SandboxEvent(id=event.id + "x", type=event.type, object_id=event.object_id, created_at=event.created_at)
    body, headers = webhook_request(app.state.settings, twin)
    assert (await anonymous.post("/webhooks/sandbox", content=body, headers=headers)).json() == {"status": "processed"}

    [payout] = await payouts(db, me_id)
    assert payout.status == PayoutStatus.paid
    assert await entries(db, "payout_paid:") == 1
    assert await balance(db, AccountKind.payouts_in_transit, me_id) == 0
    assert await balance(db, AccountKind.contractor_payable, me_id) == 30_000
    assert (await verify(db)).ok
    [arrived] = await notifications_of(db, me_id, "payout.paid")  # told once, however often it is said
    assert arrived.title == "Your payout of €600.00 has arrived at your bank." and arrived.link == "/earnings"
    [mail] = await mails_where(smtp_server, lambda m: m["Subject"] == "Payout arrived: €600.00")
    assert mail["To"] == me.email and "/earnings" in text_of(mail) and mail["List-Unsubscribe"]


async def test_a_bad_signature_is_refused_and_changes_nothing(app, db, contractor, anonymous, held_webhooks):
    me, me_id = contractor.user, contractor.user.id
    await ready_contractor(app, db, me)
    public_id = await request(app, db, me)

    async def settled():
        return await db.scalar(select(SandboxEvent).where(SandboxEvent.type == "payout.paid"))

    event = await wait_for(settled, what="the payout.paid event")
    body, headers = webhook_request(app.state.settings, event)
    headers["Stripe-Signature"] = headers["Stripe-Signature"][:-4] + "0000"
    assert (await anonymous.post("/webhooks/sandbox", content=body, headers=headers)).status_code == 400
    [payout] = await payouts(db, me_id)
    assert payout.public_id == public_id and payout.status == PayoutStatus.sent


async def test_a_payout_that_fails_returns_the_money_to_the_balance(app, db, contractor):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user, iban=sandbox_payouts.BOUNCES)
    response = await contractor.post_form("/earnings/withdraw", {**await withdraw_form(contractor), "amount": "900"})
    assert response.status_code == 303

    async def failed():
        [p] = await payouts(db, me_id)
        return p if p.status == PayoutStatus.failed else None

    payout = await wait_for(failed, what="the payout failing")
    assert payout.failure_message == (
        "The bank could not credit this account, so the transfer came back. €900.00 is back in your balance."
    )
    assert await balance(db, AccountKind.contractor_payable, me_id) == 90_000
    assert await balance(db, AccountKind.payouts_in_transit, me_id) == 0
    assert await entries(db, "payout_returned:") == 1 and await entries(db, "payout_paid:") == 0

    async def returned():
        job = await db.scalar(select(OutboxJob).where(OutboxJob.function == "return_failed_payout")
                              .execution_options(populate_existing=True))  # fmt: skip
        return job if job is not None and job.done_at is not None else None

    job = await wait_for(returned, what="the failed payout handed back at the provider")
    assert job.kwargs == {"payout_id": payout.id}
    page = await contractor.get("/earnings")
    assert "Failed — returned to your balance" in page.text and "€900.00 is back in your balance." in page.text
    [told] = await notifications_of(db, me_id, "payout.failed")
    assert told.title == "Your payout of €900.00 did not arrive: it is back in your balance."
    assert told.link == "/earnings" and "could not credit this account" in told.data["reason"]
    assert await notifications_of(db, me_id, "payout.paid") == []
    assert (await verify(db)).ok


async def test_what_the_provider_says_keeps_no_notification_when_its_transaction_fails(
    app, db, contractor, held_webhooks
):
    me_id = contractor.user.id
    await ready_contractor(app, db, contractor.user)
    public_id = await request(app, db, contractor.user)
    [payout] = await wait_for(lambda: _sent(db, me_id), what="the payout on its way")
    found = ProviderPayout(payout.provider_payout_id, public_id, "acct", SIX_HUNDRED, PayoutState.paid)
    async with app.state.sessionmaker() as s:
        await services.apply_payout(s, found)
        await s.rollback()
    assert await notifications_of(db, me_id, "payout.paid") == []
    [payout] = await payouts(db, me_id)
    assert payout.status == PayoutStatus.sent


async def _sent(db, user_id):
    rows = await payouts(db, user_id)
    return rows if rows and rows[0].status == PayoutStatus.sent else None
