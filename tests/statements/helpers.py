"""Statements tests: money moved through the real verbs on an active contract (funding through
the provider's answer, approval and release with the signed 10 % fee, refund and settlement),
and a milestone added by a signed amendment when a test needs a title of its own."""

from __future__ import annotations

from sqlalchemy import select

from app.contracts.amendments import services as amendments
from app.contracts.amendments.forms import ProposedAdd
from app.contracts.models import Contract, ContractVersion, Milestone
from app.escrow import lifecycle
from tests.contracts.helpers import CTX, active_contract
from tests.escrow.test_lifecycle import fund  # noqa: F401 (the statements tests fund through it)


async def deal(db, client, contractor) -> tuple[Contract, list[Milestone]]:
    """An active contract between the two: "Design" €1,000.00 and "Build" €2,000.00, 10 % fee."""
    contract, _ = await active_contract(db, client, contractor)
    return contract, await milestones(db, contract)


async def milestones(db, contract: Contract) -> list[Milestone]:
    return list(
        await db.scalars(
            select(Milestone)
            .where(Milestone.contract_id == contract.id)
            .order_by(Milestone.position, Milestone.id)
            .execution_options(populate_existing=True)
        )
    )


async def release(db, m: Milestone, client, contractor) -> None:
    """The contractor submits, the client presses "Approve and release"."""
    await lifecycle.submit(db, m.id, contractor, "Done, see the shared folder.")
    await db.commit()
    await lifecycle.approve(db, m.id, client)
    await db.commit()


async def refund(db, contract: Contract, m: Milestone) -> None:
    """A funded milestone given back in full (what a signed amendment removing it does)."""
    c = await db.scalar(select(Contract).where(Contract.id == contract.id).with_for_update())
    locked = await db.scalar(select(Milestone).where(Milestone.id == m.id).with_for_update())
    await lifecycle.refund(db, c, locked, actor_id=None, why="removed by amendment")
    await db.commit()


async def add_milestone(db, contract: Contract, client, contractor, title: str, amount: str) -> Milestone:
    """A milestone added by a signed amendment (the contractor proposes, both sign)."""
    change = ProposedAdd(title, "As agreed.", amount, "2030-04-01")
    amendment = await amendments.propose(db, contract.id, contractor, [change], "Scope grew.")
    await db.commit()
    version = await db.get(ContractVersion, amendment.version_id)
    for who in (contractor, client):
        await amendments.sign_amendment(db, amendment.id, who, version_hash=version.terms_hash, typed_name=who.name,
                                        consent=True, context=CTX)  # fmt: skip
        await db.commit()
    return next(m for m in await milestones(db, contract) if m.title == title)
