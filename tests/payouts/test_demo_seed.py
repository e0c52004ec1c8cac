"""Demo payouts: the demo contractor has a sandbox bank account ready for payouts, set up through
the provider, its page and its webhook; seeding twice changes nothing."""

from sqlalchemy import func, select

from app.payments.models import SandboxEvent, SandboxPayoutAccount, WebhookEvent
from app.payouts.models import PayoutMethod
from app.platform.seed import demo_seed


async def test_the_demo_contractor_can_withdraw_to_a_sandbox_bank_account(app, db):
    await demo_seed(app.state.resources)
    [method] = (await db.scalars(select(PayoutMethod))).all()
    assert method.ready and method.label == "Bank account •••• 3000" and not method.auto_weekly
    account = await db.get(SandboxPayoutAccount, method.provider_account_id)
    assert account.holder_name and not account.fails_payouts and account.email == "contractor@pactline.test"
    [event] = (await db.scalars(select(SandboxEvent).where(SandboxEvent.type == "payout_account.updated"))).all()
    assert event.delivered_at is not None
    assert await db.scalar(select(WebhookEvent.processed_at).where(WebhookEvent.event_id == event.id))

    counted = (PayoutMethod, SandboxPayoutAccount, SandboxEvent, WebhookEvent)
    before = [await db.scalar(select(func.count()).select_from(m)) for m in counted]
    await demo_seed(app.state.resources)
    assert [await db.scalar(select(func.count()).select_from(m)) for m in counted] == before
