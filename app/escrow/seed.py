"""Demo escrow (development only): the demo contract's first milestone funded, its second funded
and submitted (the review clock running), its third not funded yet.

Made as people make them: the client opens a funding and a sandbox checkout, pays it with the
test card that succeeds, and the sandbox's signed webhook is delivered — by the sandbox's own
sender, to the app's real `/webhooks/sandbox`, in-process (`httpx.ASGITransport`) since no server
need be listening while seeding — which applies the payment; then the contractor submits work.
Each step looks at the milestone's state first, so running the seed again changes nothing and
a run that stopped half-way is finished by the next."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.services import get_user_by_email
from app.contracts.models import Contract, Milestone, MilestoneStatus
from app.contracts.seed import TITLE
from app.escrow import funding, lifecycle
from app.escrow.models import Funding
from app.payments import sandbox
from app.payments.models import SandboxEvent
from app.payments.providers import get_provider
from app.payments.tasks import deliver_sandbox_webhook, send_webhooks_through

DELIVERED = (
    "The twenty edited photos are ready: colour-corrected, 4000 px wide JPEGs plus web versions, "
    "chosen from the contact sheet as we agreed."
)


async def seed_escrow(resources) -> list[str]:
    async with resources.sessionmaker() as db:
        client = await get_user_by_email(db, "client@pactline.test")
        contractor = await get_user_by_email(db, "contractor@pactline.test")
        if client is None or contractor is None:
            return []
        contract = await db.scalar(
            select(Contract)
            .where(Contract.client_id == client.id, Contract.contractor_id == contractor.id)
            .order_by(Contract.id)
            .limit(1)
        )  # the demo contract (app/contracts/seed.py): the only one between them
        if contract is None:
            return []
        milestones = list(
            await db.scalars(select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position))
        )
    if len(milestones) < 3 or contract.title != TITLE:
        return []
    first, second = milestones[0], milestones[1]
    created: list[str] = []
    if first.status == MilestoneStatus.pending:
        await _fund(resources, contract.id, client, first.id)
        created.append(f"escrow: “{first.title}” funded through the sandbox checkout and its webhook")
    if second.status == MilestoneStatus.pending:
        await _fund(resources, contract.id, client, second.id)
        created.append(f"escrow: “{second.title}” funded through the sandbox checkout and its webhook")
    async with resources.sessionmaker() as db:
        status = await db.scalar(select(Milestone.status).where(Milestone.id == second.id))
    if status == MilestoneStatus.funded:
        async with resources.sessionmaker() as db, db.begin():
            await lifecycle.submit(db, second.id, contractor, DELIVERED)
        created.append(f"escrow: work submitted for “{second.title}” (its review clock running)")
    return created


async def _fund(resources, contract_id: int, client: User, milestone_id: int) -> None:
    """Fund one milestone as the client does: a funding (or the one already in progress), its
    checkout, the success card, and the payment's webhook delivered to the app in-process."""
    settings, sessionmaker = resources.settings, resources.sessionmaker
    provider = get_provider(settings, sessionmaker)
    async with sessionmaker() as db, db.begin():
        opened = await funding.open_funding(db, contract_id, client, [milestone_id], provider=provider.name)
    await funding.start_checkout(sessionmaker, provider, opened.id)
    async with sessionmaker() as db, db.begin():
        payment_id = await db.scalar(select(Funding.provider_payment_id).where(Funding.id == opened.id))
        checkout = await sandbox.checkout_for(db, payment_id, client.id)
        await sandbox.pay(db, checkout, sandbox.SUCCEEDS)  # None when an earlier run paid it already
    async with sessionmaker() as db:
        events = list(
            await db.scalars(
                select(SandboxEvent.id)
                .where(SandboxEvent.object_id == payment_id, SandboxEvent.delivered_at.is_(None))
                .order_by(SandboxEvent.created_at)
            )
        )
    if events:
        await _deliver(resources, events)


async def _deliver(resources, event_ids: list[str]) -> None:
    """Send the sandbox's webhooks with its own sender to an app made here, in-process: the
    request goes through the app's middleware, signature check and handler like any other."""
    from app.asgi import create_app

    app = create_app(resources.settings)
    previous = send_webhooks_through(httpx.ASGITransport(app=app))
    try:
        context = {"settings": resources.settings, "sessionmaker": resources.sessionmaker}
        for event_id in event_ids:
            await deliver_sandbox_webhook(context, event_id=event_id)
    finally:
        send_webhooks_through(previous)
        await app.state.resources.close()
