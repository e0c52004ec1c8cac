"""Contract rules: drafting, sending versions, signing a version, activation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import ensure_verified
from app.accounts.models import Role, User
from app.audit.chain import append
from app.contracts.models import (
    Contract,
    ContractKind,
    ContractStatus,
    ContractVersion,
    Milestone,
    MilestoneStatus,
    Signature,
)
from app.contracts.versions import terms_hash
from app.db import utcnow
from app.errors import DomainError, NotFound

DEFAULT_REVIEW_WINDOW = 7


@dataclass(frozen=True)
class SignContext:
    ip: str | None = None
    user_agent: str | None = None


def _audit(db: AsyncSession, contract: Contract, kind: str, actor_id: int | None, **data: Any):
    return append(db, kind, actor_id=actor_id, subject_type="contract", subject_id=contract.public_id, data=data)


async def contract_for(db: AsyncSession, contract_id: int, user: User, *, lock: bool = False) -> Contract:
    query = select(Contract).where(Contract.id == contract_id)
    contract = await db.scalar(query.with_for_update() if lock else query)
    if contract is None or (user.id not in (contract.client_id, contract.contractor_id) and user.role != Role.admin):
        raise NotFound(contract_id)
    return contract


async def draft_from_proposal(db: AsyncSession, proposal_id: int, client: User) -> Contract:
    """The accepted proposal's job and milestones become the first draft of the terms."""
    from app.marketplace.models import Proposal, ProposalStatus

    proposal = await db.get(Proposal, proposal_id)
    if proposal is None or proposal.job.client_id != client.id:
        raise NotFound(proposal_id)
    if proposal.status != ProposalStatus.accepted:
        raise DomainError("Only an accepted proposal becomes a contract.")
    existing = await db.scalar(select(Contract).where(Contract.proposal_id == proposal.id))
    if existing is not None:
        return existing
    job = proposal.job
    terms = {
        "title": job.title,
        "scope": job.description,
        "currency": proposal.currency,
        "review_window_days": DEFAULT_REVIEW_WINDOW,
        "stated_total_minor": proposal.amount_minor,
        "milestones": [
            {
                "title": m.title,
                "acceptance_criteria": "",
                "amount_minor": m.amount_minor,
                "due_date": m.due_date.isoformat() if m.due_date else None,
            }
            for m in sorted(proposal.milestones, key=lambda m: m.position)
        ],
        "clauses": [],
    }
    contract = Contract(
        public_id=secrets.token_urlsafe(12),
        client_id=client.id,
        contractor_id=proposal.contractor_id,
        proposal_id=proposal.id,
        kind=ContractKind.milestone,
        status=ContractStatus.draft,
        draft_terms=terms,
    )
    db.add(contract)
    await db.flush()
    await _audit(db, contract, "contract_drafted", client.id, proposal_id=proposal.id)
    return contract


async def update_draft(db: AsyncSession, contract_id: int, user: User, terms: dict[str, Any]) -> Contract:
    contract = await contract_for(db, contract_id, user, lock=True)
    if contract.status not in (ContractStatus.draft, ContractStatus.sent):
        raise DomainError("Signed terms change only through an amendment.")
    terms_hash(terms)  # refuses floats and timestamps early, with a clear message
    contract.draft_terms = terms
    return contract


async def send(db: AsyncSession, contract_id: int, user: User) -> ContractVersion:
    """Freeze the current terms as the next version; signatures on older versions no longer count."""
    contract = await contract_for(db, contract_id, user, lock=True)
    if contract.status not in (ContractStatus.draft, ContractStatus.sent):
        raise DomainError("This contract is no longer being negotiated.")
    digest = terms_hash(contract.draft_terms)
    current = await db.get(ContractVersion, contract.current_version_id) if contract.current_version_id else None
    if current is not None and current.terms_hash == digest:
        return current  # nothing changed since the last version
    number = (
        await db.scalar(select(func.max(ContractVersion.number)).where(ContractVersion.contract_id == contract.id)) or 0
    ) + 1
    version = ContractVersion(
        contract_id=contract.id, number=number, terms=contract.draft_terms, terms_hash=digest, created_by=user.id
    )
    db.add(version)
    await db.flush()
    contract.current_version_id, contract.status = version.id, ContractStatus.sent
    await _audit(db, contract, "contract_version_sent", user.id, version=number, terms_hash=digest)
    return version


def _same_name(typed: str, name: str) -> bool:
    return " ".join(typed.split()).casefold() == " ".join(name.split()).casefold()


def check_signature_input(user: User, typed_name: str, consent: bool) -> None:
    """What every signature needs, for contracts and amendments alike."""
    if not consent:
        raise DomainError("Tick the box to confirm you agree to these terms.")
    if not _same_name(typed_name, user.name):
        raise DomainError(f"Type your full name exactly as on your account: {user.name}.")


async def sign(
    db: AsyncSession,
    contract_id: int,
    user: User,
    *,
    version_hash: str,
    typed_name: str,
    consent: bool,
    context: SignContext,
) -> Contract:
    """Sign the version whose hash the signer saw. The contract row is locked, so two parties
    signing at the same moment activate it exactly once."""
    if user.role == Role.admin:
        raise NotFound(contract_id)  # admins oversee contracts; they are never a party
    ensure_verified(user)
    contract = await contract_for(db, contract_id, user, lock=True)
    if contract.status != ContractStatus.sent or contract.current_version_id is None:
        raise DomainError("There is no version waiting for signatures.")
    version = await db.get(ContractVersion, contract.current_version_id)
    assert version is not None
    if version.terms_hash != version_hash:
        raise DomainError("The terms changed since you opened this page. Read the new version before signing.")
    check_signature_input(user, typed_name, consent)
    already = await db.scalar(select(Signature).where(Signature.version_id == version.id, Signature.user_id == user.id))
    if already is None:
        db.add(Signature(contract_id=contract.id, version_id=version.id, user_id=user.id, terms_hash=version.terms_hash,
                         typed_name=typed_name.strip(), ip=context.ip, user_agent=(context.user_agent or "")[:400] or None))  # fmt: skip
        await db.flush()
        await _audit(db, contract, "contract_signed", user.id, version=version.number, terms_hash=version.terms_hash)
    signers = set((await db.scalars(select(Signature.user_id).where(Signature.version_id == version.id))).all())
    if {contract.client_id, contract.contractor_id} <= signers:
        contract.status, contract.activated_at = ContractStatus.active, utcnow()
        _create_milestones(db, contract, version.terms)
        await _audit(db, contract, "contract_activated", None, version=version.number, terms_hash=version.terms_hash)
    return contract


def _create_milestones(db: AsyncSession, contract: Contract, terms: dict[str, Any]) -> None:
    """The signed terms' milestones become rows whose state escrow and amendments move."""
    currency = terms.get("currency") or "EUR"
    for position, m in enumerate(terms.get("milestones") or []):
        db.add(
            Milestone(
                contract_id=contract.id,
                position=position,
                title=m["title"],
                acceptance_criteria=m.get("acceptance_criteria") or "",
                amount_minor=int(m["amount_minor"]),
                currency=currency,
                due_date=date.fromisoformat(m["due_date"]) if m.get("due_date") else None,
                status=MilestoneStatus.pending,
            )
        )


async def milestones_of(db: AsyncSession, contract: Contract, *, lock: bool = False) -> list[Milestone]:
    """The live milestones (removed ones excluded), in order."""
    query = (
        select(Milestone)
        .where(Milestone.contract_id == contract.id, Milestone.status != MilestoneStatus.removed)
        .order_by(Milestone.position, Milestone.id)
    )
    return list((await db.scalars(query.with_for_update() if lock else query)).all())
