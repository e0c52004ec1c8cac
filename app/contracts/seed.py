"""Demo contract (development only): an active, signed contract with its PDF, made through the
same service verbs people use — accept a proposal, draft, send, both sign, render."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import select

from app.accounts.services import get_user_by_email
from app.contracts.documents.services import ensure_document
from app.contracts.drafting import clauses, forms
from app.contracts.drafting import services as drafting
from app.contracts.models import Contract, ContractVersion
from app.contracts.signing import services as signing
from app.contracts.templates.services import get_template
from app.contracts.terms import PlatformFee, TemplateRef
from app.marketplace import services as marketplace
from app.marketplace.forms import JobInput, MilestoneInput, ProposalInput
from app.marketplace.models import BudgetType, Visibility
from app.money import Money

TITLE = "Product photos for the spring menu"
SEED_CONTEXT = signing.SignContext(ip="127.0.0.1", user_agent="pactline demo-seed")


async def seed_contracts(resources) -> list[str]:
    async with resources.sessionmaker() as db:
        client = await get_user_by_email(db, "client@pactline.test")
        contractor = await get_user_by_email(db, "contractor@pactline.test")
        if client is None or contractor is None:
            return []
        if await db.scalar(select(Contract.id).where(Contract.client_id == client.id).limit(1)):
            return []
        soon = date.today()
        job = await marketplace.create_job(
            db,
            client,
            JobInput(
                title=TITLE,
                description="Twenty photos of our pastries and breads for the new menu, the website and "
                "Instagram: natural light, plain backgrounds, delivered as edited high-resolution files.",
                skills=["photography", "food"],
                budget_type=BudgetType.fixed,
                budget=Money.parse("1400"),
                deadline=soon + timedelta(days=40),
                visibility=Visibility.public,
            ),
            publish_now=True,
        )
        proposal = await marketplace.apply(
            db,
            job.id,
            contractor,
            ProposalInput(
                cover_letter="I photograph food for two bakeries in Lyon; one shoot day and a week of editing.",
                amount=Money.parse("1400"),
                milestones=[
                    MilestoneInput("Shoot day and contact sheet", Money.parse("600"), soon + timedelta(days=14)),
                    MilestoneInput("Twenty edited photos", Money.parse("500"), soon + timedelta(days=28)),
                    MilestoneInput("Menu layouts and social crops", Money.parse("300"), soon + timedelta(days=35)),
                ],
            ),
        )
        await marketplace.accept(db, proposal.id, client)
        contract = await drafting.draft_from_proposal(db, proposal.id, client)
        terms = contract.draft_terms
        criteria = [
            "A contact sheet of at least 150 frames covering every product on the list, shared within 2 days.",
            "Twenty photos chosen from the contact sheet, colour-corrected, 4000 px wide JPEG and web versions.",
            "The twenty photos placed in the printed menu's layout, plus square and story crops for Instagram.",
        ]
        milestones = tuple(replace(m, acceptance_criteria=c) for m, c in zip(terms.milestones, criteria, strict=True))
        parsed = forms.Parsed(
            terms=terms.with_(milestones=milestones, template=TemplateRef("fixed-price-project"), riders=())
        )
        template = await get_template(db, "fixed-price-project", contract.company_id)
        await clauses.with_clauses(parsed, [template] if template else [], client.name, contractor.name)
        await drafting.update_draft(db, contract.id, client, parsed.terms)
        version = await signing.send(db, contract.id, client, fee=PlatformFee.current(resources.settings))
        for person in (client, contractor):
            await signing.sign(db, contract.id, person, version_hash=version.terms_hash, typed_name=person.name,
                                consent=True, context=SEED_CONTEXT)  # fmt: skip
        await db.commit()
        version = await db.get(ContractVersion, contract.current_version_id)
        await ensure_document(db, resources.settings, contract, version, final=True)
        await db.commit()
        return [f"contract: {TITLE} (active, signed PDF)"]
