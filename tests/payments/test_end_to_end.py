"""A funding made with the escrow verbs, paid on the sandbox checkout, its result delivered by
the worker as a signed webhook to the app (in-process): the milestone is funded, and the money
moves once even when the webhook arrives twice."""

from __future__ import annotations

import html

from sqlalchemy import func, select

from app.contracts.models import Milestone
from app.escrow.funding import apply_payment, open_funding, start_checkout
from app.escrow.models import Funding, JournalEntry
from app.payments.models import SandboxEvent, WebhookEvent
from app.payments.providers import get_provider
from app.payments.tasks import webhook_request
from tests.contracts.helpers import active_contract
from tests.payments.conftest import delivered


async def funding_checkout(app, db, client, contractor):
    contract, _ = await active_contract(db, client.user, contractor.user)
    milestone = await db.scalar(
        select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position).limit(1)
    )
    funding = await open_funding(db, contract.id, client.user, [milestone.id], provider="sandbox")
    await db.commit()
    provider = get_provider(app.state.settings, app.state.sessionmaker)
    url = await start_checkout(app.state.sessionmaker, provider, funding.id)
    return contract.id, milestone.id, funding.id, url


async def test_paid_on_the_checkout_the_milestone_is_funded_once(app, db, client, contractor, anonymous):
    contract_id, milestone_id, funding_id, url = await funding_checkout(app, db, client, contractor)
    page = await client.get(url)
    assert page.status_code == 200 and "€1,000.00" in html.unescape(page.text)

    paid = await client.post_form(f"{url}/pay", {"card_number": "4242 4242 4242 4242"})

    assert paid.status_code == 303 and paid.headers["location"] == f"/contracts/{contract_id}"
    funding = await db.get_one(Funding, funding_id)
    event = await delivered(db, funding.provider_payment_id)  # by the worker, through the app's endpoint
    event_id = event.id
    db.expire_all()
    assert (await db.get_one(Milestone, milestone_id)).status == "funded"
    assert (await db.get_one(Funding, funding_id)).status == "paid"
    reference = f"funding:{funding.public_id}:{milestone_id}"
    entries = select(func.count()).select_from(JournalEntry).where(JournalEntry.reference == reference)
    assert await db.scalar(entries) == 1

    # The same event once more (a provider's retry after a lost answer), and once more applied.
    body, headers = webhook_request(app.state.settings, await db.get_one(SandboxEvent, event_id))
    again = await anonymous.post("/webhooks/sandbox", content=body, headers=headers)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    async with app.state.sessionmaker() as other:
        await apply_payment(
            other, await get_provider(app.state.settings, app.state.sessionmaker).retrieve(event.object_id)
        )
        await other.commit()
    db.expire_all()
    assert await db.scalar(entries) == 1
    assert await db.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    assert (await db.get_one(Milestone, milestone_id)).status == "funded"


async def test_a_declined_card_leaves_the_milestone_unfunded(app, db, client, contractor):
    contract_id, milestone_id, funding_id, url = await funding_checkout(app, db, client, contractor)

    declined = await client.post_form(f"{url}/pay", {"card_number": "4000 0000 0000 0002"})

    assert declined.status_code == 303 and declined.headers["location"] == f"/contracts/{contract_id}"
    funding = await db.get_one(Funding, funding_id)
    await delivered(db, funding.provider_payment_id)
    db.expire_all()
    funding = await db.get_one(Funding, funding_id)
    assert funding.status == "failed" and "Your card was declined." in funding.failure_message
    assert (await db.get_one(Milestone, milestone_id)).status == "pending"
    assert (
        await db.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.contract_id == contract_id))
        == 0
    )
