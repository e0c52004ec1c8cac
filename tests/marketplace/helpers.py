"""Jobs and proposals made through the marketplace services, with sensible defaults."""

from __future__ import annotations

from datetime import date, timedelta

from app.marketplace import services
from app.marketplace.forms import JobInput, MilestoneInput, ProposalInput
from app.marketplace.models import BudgetType, Visibility
from app.money import Money


async def make_job(
    db,
    owner,
    *,
    title: str = "Logo for a neighbourhood bakery",
    description: str = "A logo, two colour palettes and a guide for the shop sign and bags.",
    skills: list[str] | None = None,
    budget_type: BudgetType = BudgetType.fixed,
    budget: str = "1200",
    currency: str = "EUR",
    visibility: Visibility = Visibility.public,
    publish: bool = True,
):
    data = JobInput(
        title=title,
        description=description,
        skills=skills if skills is not None else ["logo design", "branding"],
        budget_type=budget_type,
        budget=Money.parse(budget, currency),
        deadline=date.today() + timedelta(days=30),
        visibility=visibility,
    )
    job = await services.create_job(db, owner, data, publish_now=publish)
    await db.commit()
    return job


async def make_proposal(db, job, contractor, *, amount: str = "1100", milestones=()):
    data = ProposalInput(
        cover_letter="I have designed identities for three cafés; here is how I would work.",
        amount=Money.parse(amount, job.currency),
        milestones=[MilestoneInput(t, Money.parse(a, job.currency), None) for t, a in milestones],
    )
    proposal = await services.apply(db, job.id, contractor, data)
    await db.commit()
    return proposal
