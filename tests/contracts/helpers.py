"""Shared steps for contract tests: an accepted proposal, a sent contract, a signature, an active contract."""

from datetime import date

from app.contracts.drafting import services as drafting
from app.contracts.signing import services as signing
from app.contracts.terms import PlatformFee
from app.marketplace.forms import JobInput, MilestoneInput, ProposalInput
from app.marketplace.models import BudgetType, Visibility
from app.marketplace.services import accept, apply, create_job
from app.money import Money

CTX = signing.SignContext(ip="203.0.113.5", user_agent="Test browser")


async def accepted_proposal(db, client, contractor):
    job = await create_job(
        db, client,
        JobInput(title="Booking website", description="A five-page site with online booking for a clinic.", skills=["web"],
                 budget_type=BudgetType.fixed, budget=Money(300000), deadline=date(2030, 1, 1), visibility=Visibility.public),
        publish_now=True,
    )  # fmt: skip
    proposal = await apply(
        db, job.id, contractor,
        ProposalInput(cover_letter="I have built six booking sites for clinics; happy to show them.", amount=Money(300000),
                      milestones=[MilestoneInput("Design", Money(100000), date(2030, 2, 1)), MilestoneInput("Build", Money(200000), date(2030, 3, 1))]),
    )  # fmt: skip
    await accept(db, proposal.id, client)
    await db.commit()
    return proposal


# The fee PLATFORM_FEE_PERCENT gives by default, for tests that send versions through the service.
FEE = PlatformFee(1000)


async def sent_contract(db, client, contractor):
    proposal = await accepted_proposal(db, client, contractor)
    contract = await drafting.draft_from_proposal(db, proposal.id, client)
    version = await signing.send(db, contract.id, client, fee=FEE)
    await db.commit()
    return contract, version


def sign(db, contract_id, user, version_hash, *, name=None, consent=True):
    """Sign as `user`, typing their account name unless told otherwise."""
    return signing.sign(
        db,
        contract_id,
        user,
        version_hash=version_hash,
        typed_name=user.name if name is None else name,
        consent=consent,
        context=CTX,
    )


async def active_contract(db, client, contractor):
    """A contract both parties signed: two pending milestones (1 000.00 and 2 000.00 EUR)."""
    contract, version = await sent_contract(db, client, contractor)
    await sign(db, contract.id, client, version.terms_hash)
    await sign(db, contract.id, contractor, version.terms_hash)
    await db.commit()
    return contract, version
