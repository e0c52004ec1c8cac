"""Demo jobs and a proposal (development only), made through the marketplace services."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.services import get_user_by_email
from app.marketplace import services
from app.marketplace.forms import JobInput, MilestoneInput, ProposalInput
from app.marketplace.models import BudgetType, Job, Visibility
from app.money import Money

DEMO_JOBS = [
    (
        "Logo and brand colours for a neighbourhood bakery",
        "We are opening a small bakery in Lyon and need a logo, two colour palettes and a simple "
        "guide for the shop sign, paper bags and Instagram.",
        ["logo design", "branding", "illustrator"],
        BudgetType.fixed,
        "1200",
    ),
    (
        "Booking website for a physiotherapy practice",
        "A five-page website where patients can read about treatments and book appointments online. "
        "It must work well on phones and be easy for our receptionist to update.",
        ["web design", "wordpress", "booking"],
        BudgetType.fixed,
        "3500",
    ),
    (
        "Python developer to automate our monthly invoices",
        "We export orders from Shopify as CSV every month. We need a script that turns them into "
        "PDF invoices and e-mails them to customers. About 20 hours of work.",
        ["python", "automation", "pdf"],
        BudgetType.hourly,
        "55",
    ),
    (
        "Translate a product catalogue from German to English",
        "A 40-page furniture catalogue with product names, dimensions and short descriptions. "
        "Keep the layout; we send an InDesign file.",
        ["translation", "german", "english"],
        BudgetType.fixed,
        "900",
    ),
]


async def seed_marketplace(session: AsyncSession) -> list[str]:
    client = await get_user_by_email(session, "client@pactline.test")
    contractor = await get_user_by_email(session, "contractor@pactline.test")
    if client is None or contractor is None:
        return []
    if await session.scalar(select(func.count()).select_from(Job).where(Job.client_id == client.id)):
        return []
    created, jobs = [], []
    for title, description, skills, budget_type, budget in DEMO_JOBS:
        data = JobInput(
            title=title,
            description=description,
            skills=skills,
            budget_type=budget_type,
            budget=Money.parse(budget),
            deadline=date.today() + timedelta(days=45),
            visibility=Visibility.public,
        )
        jobs.append(await services.create_job(session, client, data, publish_now=True))
        created.append(f"job: {title}")
    first = jobs[0]
    proposal = ProposalInput(
        cover_letter="Hello! I have designed identities for three cafés and a chocolatier. I would start with "
        "a short call about your bakery, then send three logo directions within a week.",
        amount=Money.parse("1200"),
        milestones=[
            MilestoneInput("Three logo directions", Money.parse("500"), date.today() + timedelta(days=10)),
            MilestoneInput("Final logo, colours and guide", Money.parse("700"), date.today() + timedelta(days=25)),
        ],
    )
    await services.apply(session, first.id, contractor, proposal)
    created.append("proposal: Conor Contractor → bakery logo")
    return created
