"""Drafting: a contract from an accepted proposal or from scratch, and saving the working copy."""

from __future__ import annotations

import secrets

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import ensure_verified
from app.accounts.models import Role, User
from app.contracts.drafting import clauses
from app.contracts.drafting.forms import Parsed
from app.contracts.models import (
    Contract,
    ContractOrigin,
    ContractStatus,
    ContractVersion,
)
from app.contracts.services import (
    audit,
    can_edit,
    contract_for,
    parties_of,
    review_if_stale,
)
from app.contracts.templates.services import get_template
from app.contracts.terms import ContractKind, MilestoneTerms, TemplateRef, Terms
from app.contracts.versions import terms_hash
from app.errors import DomainError, NotFound


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
    terms = Terms(
        title=job.title,
        scope=job.description,
        currency=proposal.currency,
        stated_total_minor=proposal.amount_minor,
        milestones=tuple(
            MilestoneTerms(m.title, m.amount_minor, due_date=m.due_date)
            for m in sorted(proposal.milestones, key=lambda m: m.position)
        ),
    )
    contract = Contract(
        public_id=secrets.token_urlsafe(12),
        client_id=client.id,
        contractor_id=proposal.contractor_id,
        proposal_id=proposal.id,
        kind=ContractKind.milestone,
        status=ContractStatus.draft,
        origin=ContractOrigin.proposal,
        company_id=await _company_id(db, client),
        draft_terms=terms,
    )
    contract.draft_terms = await _with_standard_clauses(db, contract, client.name, proposal.contractor.name)
    db.add(contract)
    await db.flush()
    await audit(db, contract, "contract_drafted", client.id, proposal_id=proposal.id)
    return contract


async def contract_id_for_proposal(db: AsyncSession, proposal_id: int) -> int | None:
    return await db.scalar(select(Contract.id).where(Contract.proposal_id == proposal_id))


async def _company_id(db: AsyncSession, client: User) -> int | None:
    from app.companies.services import membership_of

    membership = await membership_of(db, client)
    return membership.company.id if membership else None


STANDARD_TEMPLATE = "fixed-price-project"


async def _with_standard_clauses(db: AsyncSession, contract: Contract, client_name: str, contractor_name: str) -> Terms:
    """A new draft starts with the platform's fixed-price clauses (review, ownership, termination,
    liability), filled in with its own details; the client may choose others or none."""
    template = await get_template(db, STANDARD_TEMPLATE, contract.company_id)
    if template is None or clauses.extra_placeholders(template):
        return contract.draft_terms
    terms = contract.draft_terms.with_(template=TemplateRef(template.key), riders=(), custom_clauses=())
    parsed = await clauses.with_clauses(Parsed(terms=terms), [template], client_name, contractor_name)
    return contract.draft_terms if parsed.errors else parsed.terms


async def known_contractors(db: AsyncSession, client: User) -> list[User]:
    """Contractors a client may draft a contract for from scratch: people who proposed on their
    jobs, joined their company through an invitation, or already worked with them."""
    from app.companies.models import CompanyContractor
    from app.marketplace.models import Job, Proposal

    company_id = await _company_id(db, client)
    proposed = select(Proposal.contractor_id).join(Job, Job.id == Proposal.job_id).where(Job.client_id == client.id)
    contracted = select(Contract.contractor_id).where(Contract.client_id == client.id)
    sources = [proposed, contracted]
    if company_id is not None:
        sources.append(select(CompanyContractor.user_id).where(CompanyContractor.company_id == company_id))
    query = (
        select(User)
        .where(User.id.in_(union(*sources).scalar_subquery()), User.role == Role.contractor, User.status == "active")
        .order_by(User.name)
    )
    return list((await db.scalars(query)).all())


async def draft_for_contractor(db: AsyncSession, client: User, contractor_id: int, *, title: str) -> Contract:
    """A contract from scratch (or from an invitation) for a contractor the client knows."""
    ensure_verified(client)
    known = {c.id: c for c in await known_contractors(db, client)}
    if contractor_id not in known:
        raise NotFound(contractor_id)
    from app.companies.models import CompanyContractor

    company_id = await _company_id(db, client)
    invited = company_id is not None and await db.scalar(
        select(CompanyContractor.id).where(
            CompanyContractor.company_id == company_id, CompanyContractor.user_id == contractor_id
        )
    )
    terms = Terms(title=title.strip() or "New contract")
    contract = Contract(
        public_id=secrets.token_urlsafe(12),
        client_id=client.id,
        contractor_id=contractor_id,
        kind=ContractKind.milestone,
        status=ContractStatus.draft,
        origin=ContractOrigin.invitation if invited else ContractOrigin.direct,
        company_id=company_id,
        draft_terms=terms,
    )
    contract.draft_terms = await _with_standard_clauses(db, contract, client.name, known[contractor_id].name)
    db.add(contract)
    await db.flush()
    await audit(db, contract, "contract_drafted", client.id, origin=contract.origin.value)
    return contract


async def editable(db: AsyncSession, contract_id: int, user: User, *, lock: bool = False) -> Contract:
    """A contract whose draft this person may edit; anyone else gets NotFound."""
    contract = await contract_for(db, contract_id, user, lock=lock)
    if not can_edit(contract, user):
        raise NotFound(contract_id)
    return contract


async def save_draft(db: AsyncSession, contract_id: int, user: User, parsed: Parsed) -> tuple[Contract, bool]:
    """The editor's Save, Send and autosave: fill the chosen templates' clauses in, then save the
    working copy when the editor has no mistakes. Returns the contract and whether it was saved;
    the mistakes stay in `parsed.errors` for the editor to show next to their fields."""
    # Filling the templates in may take up to the sandbox's deadline: not while holding the row.
    contract = await editable(db, contract_id, user)
    refs = [parsed.terms.template] if parsed.terms.template else []
    keys = [ref.key for ref in (*refs, *parsed.terms.riders)]
    chosen = [t for t in [await get_template(db, key, contract.company_id) for key in keys] if t is not None]
    people = await parties_of(db, contract)
    await clauses.with_clauses(parsed, chosen, people[contract.client_id].name, people[contract.contractor_id].name)
    if parsed.errors:
        return contract, False
    await db.refresh(contract, with_for_update=True)  # fresh and locked for update_draft's checks
    await update_draft(db, contract.id, user, parsed.terms, expected_rev=parsed.rev)
    return contract, True


async def update_draft(
    db: AsyncSession, contract_id: int, user: User, terms: Terms, *, expected_rev: int | None = None
) -> Contract:
    """Save the working copy. With `expected_rev` this is a compare-and-set: a tab that loaded
    an older working copy cannot silently overwrite someone else's edits."""
    contract = await contract_for(db, contract_id, user, lock=True)
    if contract.status not in (ContractStatus.draft, ContractStatus.sent):
        raise DomainError("Signed terms change only through an amendment.")
    if not can_edit(contract, user):
        raise NotFound(contract_id)
    if terms == contract.draft_terms:
        review_if_stale(db, contract)
        return contract  # a repeated save (double click, a late autosave) changes nothing: no conflict
    # Only someone else's newer edits count as a conflict: a person's own autosave racing their
    # own Save or Send is the same person's latest intent.
    if expected_rev is not None and expected_rev != contract.draft_rev and contract.draft_edited_by != user.id:
        raise DomainError(
            "Someone else changed this draft while you were editing. Reload the page to see their changes."
        )
    terms_hash(terms)  # refuses floats and timestamps early, with a clear message
    contract.draft_terms = terms
    contract.draft_rev += 1
    contract.kind = terms.kind
    contract.draft_edited_by = user.id
    review_if_stale(db, contract)
    return contract


def has_unsent_changes(contract: Contract, current: ContractVersion | None) -> bool:
    """Whether the working copy differs from the version on the table. The draft carries no fee
    (send writes it), so it is compared with the version's own fee: a later change of
    PLATFORM_FEE_PERCENT alone is not an unsent change (decision 0030)."""
    if current is None:
        return True
    return terms_hash(contract.draft_terms.with_(platform_fee=current.terms.platform_fee)) != current.terms_hash
