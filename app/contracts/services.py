"""Contract rules every part of contracts shares: finding a contract for a person, its parties,
its audit trail, live updates, and the lists people see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.audit.chain import append
from app.contracts.models import (
    Contract,
    ContractStatus,
    ContractVersion,
    Milestone,
    MilestoneStatus,
    Signature,
)
from app.errors import NotFound
from app.events import publish
from app.web.urls import path_for
from app.worker.outbox import defer


def contract_path(contract_id: int) -> str:
    return path_for("contracts:detail", contract_id=contract_id)


def milestone_path(contract_id: int, milestone_id: int) -> str:
    """One milestone's card on its contract's page (where a notification about it leads)."""
    return f"{contract_path(contract_id)}#milestone-{milestone_id}"


async def parties_of(db: AsyncSession, contract: Contract) -> dict[int, User]:
    users = (await db.scalars(select(User).where(User.id.in_([contract.client_id, contract.contractor_id])))).all()
    return {u.id: u for u in users}


def review_if_stale(db: AsyncSession, contract: Contract) -> None:
    """The review assistant reads the working copy once this commits, unless it has read this
    revision already (a newer save makes an older run's result moot)."""
    if contract.status not in (ContractStatus.draft, ContractStatus.sent):
        return
    if contract.review and contract.review.get("rev") == contract.draft_rev:
        return
    defer(db, "review_contract", contract_id=contract.id, rev=contract.draft_rev)


def audit(db: AsyncSession, contract: Contract, kind: str, actor_id: int | None, **data: Any):
    return append(db, kind, actor_id=actor_id, subject_type="contract", subject_id=contract.public_id, data=data)


async def contract_for(db: AsyncSession, contract_id: int, user: User, *, lock: bool = False) -> Contract:
    query = select(Contract).where(Contract.id == contract_id)
    contract = await db.scalar(query.with_for_update() if lock else query)
    if contract is None or (user.id not in (contract.client_id, contract.contractor_id) and user.role != Role.admin):
        raise NotFound(contract_id)
    return contract


async def current_version(db: AsyncSession, contract: Contract) -> ContractVersion | None:
    return await db.get(ContractVersion, contract.current_version_id) if contract.current_version_id else None


def notify_parties(db: AsyncSession, contract: Contract) -> None:
    """Both parties' open contract pages refresh themselves (what happened reaches each person
    through notify(), ADR 0046)."""
    for user_id in (contract.client_id, contract.contractor_id):
        publish(db, user_id, f"contract-{contract.id}", {"changed": True})


async def milestones_of(db: AsyncSession, contract: Contract, *, lock: bool = False) -> list[Milestone]:
    """The live milestones (removed ones excluded), in order."""
    query = (
        select(Milestone)
        .where(Milestone.contract_id == contract.id, Milestone.status != MilestoneStatus.removed)
        .order_by(Milestone.position, Milestone.id)
    )
    return list((await db.scalars(query.with_for_update() if lock else query)).all())


async def listed_for(
    db: AsyncSession, user: User, *, limit: int, statuses: tuple[ContractStatus, ...] | None = None
) -> list[Contract]:
    """The contracts a person's lists show, newest first: their own, except a draft the client is
    still writing; admins see every contract that has been sent."""
    if user.role == Role.admin:
        visible = Contract.status != ContractStatus.draft
    else:
        visible = (Contract.client_id == user.id) | (
            (Contract.contractor_id == user.id) & (Contract.status != ContractStatus.draft)
        )
    query = select(Contract).where(visible).order_by(Contract.created_at.desc(), Contract.id.desc()).limit(limit)
    if statuses is not None:
        query = query.where(Contract.status.in_(statuses))
    return list((await db.scalars(query)).all())


async def next_steps(db: AsyncSession, user: User, limit: int = 5) -> list[tuple[Contract, str]]:
    """The user's open contracts with what each needs next, in plain words (for the dashboard)."""
    open_states = (ContractStatus.draft, ContractStatus.sent, ContractStatus.active)
    contracts = await listed_for(db, user, limit=limit, statuses=open_states)
    signed = set(
        (
            await db.scalars(
                select(Signature.version_id).where(
                    Signature.user_id == user.id,
                    Signature.version_id.in_([c.current_version_id for c in contracts if c.current_version_id]),
                )
            )
        ).all()
    )
    steps = []
    for contract in contracts:
        if contract.status == ContractStatus.draft:
            steps.append((contract, "Draft: finish and send it"))
        elif contract.status == ContractStatus.sent:
            mine = contract.current_version_id in signed
            steps.append(
                (contract, "Signed by you; waiting for the other side" if mine else "Waiting for your signature")
            )
        else:
            steps.append((contract, "Active"))
    return steps


def can_edit(contract: Contract, user: User) -> bool:
    """Before the first send only the client works on the draft; once sent, either party may
    propose changes (each send is a new version the other must sign)."""
    if not contract.party(user.id):
        return False
    if contract.status == ContractStatus.draft:
        return user.id == contract.client_id
    return contract.status == ContractStatus.sent
