"""Demo notifications: one unread for each demo person, about what the demo data holds; seeding
twice adds nothing."""

from sqlalchemy import func, select

from app.accounts.models import User
from app.leads.models import Lead, LeadStatus
from app.notifications.models import Notification
from app.platform.seed import demo_seed


async def counts(db) -> dict[str, int]:
    db.expire_all()
    return {model.__name__: await db.scalar(select(func.count()).select_from(model)) for model in (Notification, Lead)}


async def test_each_demo_person_has_one_unread_notification(app, db):
    await demo_seed(app.state.resources)
    people = {u.email: u for u in (await db.scalars(select(User).where(User.email.like("%@pactline.test")))).all()}
    seeded = {
        row.user_id: row
        for row in (await db.scalars(select(Notification).where(Notification.group_key == "demo"))).all()
    }
    assert set(seeded) == {u.id for u in people.values()}
    assert all(row.read_at is None and row.in_app for row in seeded.values())

    contractor = seeded[people["contractor@pactline.test"].id]
    assert contractor.kind == "milestone.funded" and contractor.link.startswith("/contracts/")
    assert "is funded" in contractor.title and "held in escrow" in contractor.title
    client = seeded[people["client@pactline.test"].id]
    assert client.kind == "milestone.submitted" and client.title.startswith("Conor Contractor submitted work for")
    admin = seeded[people["admin@pactline.test"].id]
    lead = await db.get(Lead, admin.data["lead_id"])
    assert admin.kind == "lead.dead_letter" and admin.link == "/admin/leads"
    assert lead is not None and lead.status == LeadStatus.failed  # really on the dead-letter list

    before = await counts(db)
    assert not any(line.startswith("notifications") for line in await demo_seed(app.state.resources))
    assert await counts(db) == before
