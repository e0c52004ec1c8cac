"""Demo notifications (development only): one unread for each demo person, about something the
demo data really holds, through notify() (row, live signal, e-mail as an outbox row).

- the contractor: the demo contract's first milestone is funded (app/escrow/seed.py funds it);
- the client: the contractor submitted work for the second one (the escrow seed submits it);
- the admin: a lead that could not be processed, waiting on the console's dead-letter list.

Each is kept under the group "demo" of its person: running the seed again adds nothing."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import User
from app.accounts.services import get_user_by_email
from app.contracts.models import Contract, Milestone, MilestoneStatus
from app.contracts.seed import TITLE
from app.contracts.services import milestone_path
from app.leads import services as leads
from app.leads.forms import LeadInput
from app.money import format_minor
from app.notifications.models import Notification
from app.notifications.services import notify
from app.web.templating import when
from app.web.urls import path_for

GROUP = "demo"

DEMO_LEAD = LeadInput(
    name="Sam Baker",
    email="sam.baker@example.test",
    title="Menu cards for a bakery",
    description="Twelve menu cards in two languages for our bakery counter, printed and as PDF.",
    budget="€400",
)
DEMO_FAILURE = "The partner's site sent the budget as a sentence we could not read as an amount."


async def _seeded(db, user: User) -> bool:
    return (
        await db.scalar(select(Notification.id).where(Notification.user_id == user.id, Notification.group_key == GROUP))
    ) is not None


async def seed_notifications(resources) -> list[str]:
    made: list[str] = []
    async with resources.sessionmaker() as db:
        client = await get_user_by_email(db, "client@pactline.test")
        contractor = await get_user_by_email(db, "contractor@pactline.test")
        admin = await get_user_by_email(db, "admin@pactline.test")
        contract = None
        if client is not None and contractor is not None:
            contract = await db.scalar(
                select(Contract)
                .where(Contract.client_id == client.id, Contract.contractor_id == contractor.id)
                .order_by(Contract.id)
                .limit(1)
            )  # the demo contract (app/contracts/seed.py)
        if contract is not None and contract.title == TITLE:
            milestones = list(
                await db.scalars(
                    select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position)
                )
            )
            funded = next((m for m in milestones if m.funded_at is not None), None)
            if funded is not None and not await _seeded(db, contractor):
                await notify(db, contractor, "milestone.funded", link=milestone_path(contract.id, funded.id), group=GROUP,
                             contract=contract.title, milestone=funded.title,
                             amount=format_minor(funded.amount_minor, funded.currency))  # fmt: skip
                made.append(f"notifications: {contractor.name} — “{funded.title}” funded")
            submitted = next((m for m in milestones if m.status == MilestoneStatus.submitted), None)
            if submitted is not None and not await _seeded(db, client):
                await notify(db, client, "milestone.submitted", link=milestone_path(contract.id, submitted.id), group=GROUP,
                             contract=contract.title, milestone=submitted.title, contractor=contractor.name,
                             review_ends=when(submitted.review_ends_at))  # fmt: skip
                made.append(f"notifications: {client.name} — work submitted for “{submitted.title}”")
        if admin is not None and not await _seeded(db, admin):
            lead = await leads.receive(db, DEMO_LEAD, source="form")
            await db.flush()
            await leads.mark_failed(db, lead.id, DEMO_FAILURE, 6)
            await notify(db, admin, "lead.dead_letter", link=path_for("admin:leads"), group=GROUP, lead_id=lead.id)
            made.append(f"notifications: {admin.name} — lead #{lead.id} waits on the dead-letter list")
        await db.commit()
    return made
