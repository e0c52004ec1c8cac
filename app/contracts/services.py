"""Contract rules: drafting, sending versions, signing a version, activation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import ensure_verified
from app.accounts.models import Role, User
from app.audit.chain import append
from app.contracts.models import (
    ChangeRequest,
    Contract,
    ContractOrigin,
    ContractStatus,
    ContractVersion,
    Milestone,
    MilestoneStatus,
    Signature,
)
from app.contracts.terms import ContractKind, MilestoneTerms, TemplateRef, Terms
from app.contracts.versions import terms_hash
from app.db import utcnow
from app.errors import DomainError, FormError, NotFound
from app.events import publish
from app.mail.services import send_email_later
from app.worker.outbox import defer


@dataclass(frozen=True)
class SignContext:
    ip: str | None = None
    user_agent: str | None = None


def contract_path(contract_id: int) -> str:
    return f"/contracts/{contract_id}"


def _email(db: AsyncSession, contract: Contract, person: User, subject: str, template: str, **context: Any) -> None:
    """A contract e-mail to one party, with the contract's title and a link back to it; sent once
    the caller's transaction commits."""
    context = {"name": person.name, "title": contract.title, "path": contract_path(contract.id), **context}
    send_email_later(db, to=person.email, subject=subject, template=template, context=context)


async def _parties(db: AsyncSession, contract: Contract) -> dict[int, User]:
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
    await _audit(db, contract, "contract_drafted", client.id, proposal_id=proposal.id)
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
    from app.contracts import editor
    from app.contracts.template_store import get_template

    template = await get_template(db, STANDARD_TEMPLATE, contract.company_id)
    if template is None or editor.extra_placeholders(template):
        return contract.draft_terms
    terms = contract.draft_terms.with_(template=TemplateRef(template.key), riders=(), custom_clauses=())
    parsed = await editor.with_clauses(editor.Parsed(terms=terms), [template], client_name, contractor_name)
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
    await _audit(db, contract, "contract_drafted", client.id, origin=contract.origin.value)
    return contract


def can_edit(contract: Contract, user: User) -> bool:
    """Before the first send only the client works on the draft; once sent, either party may
    propose changes (each send is a new version the other must sign)."""
    if not contract.party(user.id):
        return False
    if contract.status == ContractStatus.draft:
        return user.id == contract.client_id
    return contract.status == ContractStatus.sent


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
    return current is None or terms_hash(contract.draft_terms) != current.terms_hash


async def current_version(db: AsyncSession, contract: Contract) -> ContractVersion | None:
    return await db.get(ContractVersion, contract.current_version_id) if contract.current_version_id else None


async def request_change(db: AsyncSession, contract_id: int, user: User, message: str) -> ChangeRequest:
    """A party asks for something to change in the version on the table; the other sees it live."""
    contract = await contract_for(db, contract_id, user, lock=True)
    if not contract.party(user.id):
        raise NotFound(contract_id)
    if contract.status != ContractStatus.sent:
        raise DomainError("Changes can be asked for while the contract waits for signatures.")
    message = message.strip()
    if not message:
        raise FormError({"message": ["Say what you would like to change."]})
    if len(message) > 4000:
        raise FormError({"message": ["Keep it under 4 000 characters."]})
    request = ChangeRequest(
        contract_id=contract.id, version_id=contract.current_version_id, author_id=user.id, message=message
    )
    db.add(request)
    await db.flush()
    await _audit(db, contract, "contract_change_requested", user.id, change_request_id=request.id)
    notify_parties(db, contract, f"{user.name} asked for a change to “{contract.title}”.", except_user=user.id)
    other = (await _parties(db, contract))[contract.other_party(user.id)]
    _email(db, contract, other, f"Change asked for: {contract.title}", "contract_change_requested",
           sender=user.name, message=message)  # fmt: skip
    return request


async def open_change_requests(db: AsyncSession, contract: Contract) -> list[ChangeRequest]:
    query = (
        select(ChangeRequest)
        .where(ChangeRequest.contract_id == contract.id, ChangeRequest.resolved_by_version_id.is_(None))
        .order_by(ChangeRequest.id)
    )
    return list((await db.scalars(query)).all())


def notify_parties(
    db: AsyncSession, contract: Contract, message: str | None, *, except_user: int | None = None
) -> None:
    """Both parties' open contract pages refresh themselves; `message` also shows as a toast."""
    for user_id in (contract.client_id, contract.contractor_id):
        publish(db, user_id, f"contract-{contract.id}", {"changed": True})
        if message and user_id != except_user:
            publish(db, user_id, "toast", {"message": message, "level": "info"})


async def send(db: AsyncSession, contract_id: int, user: User) -> ContractVersion:
    """Freeze the current terms as the next version; signatures on older versions no longer count."""
    contract = await contract_for(db, contract_id, user, lock=True)
    if contract.status not in (ContractStatus.draft, ContractStatus.sent):
        raise DomainError("This contract is no longer being negotiated.")
    if not can_edit(contract, user):
        raise NotFound(contract_id)
    problems = sendable_problems(contract.draft_terms)
    if problems:
        raise DomainError("Before sending: " + " ".join(problems))
    digest = terms_hash(contract.draft_terms)
    current = await db.get(ContractVersion, contract.current_version_id) if contract.current_version_id else None
    if current is not None and current.terms_hash == digest:
        review_if_stale(db, contract)
        return current  # nothing changed since the last version
    number = (
        await db.scalar(select(func.max(ContractVersion.number)).where(ContractVersion.contract_id == contract.id)) or 0
    ) + 1
    version = ContractVersion(
        contract_id=contract.id, number=number, terms=contract.draft_terms, terms_hash=digest, created_by=user.id
    )
    db.add(version)
    await db.flush()
    first = contract.status == ContractStatus.draft
    contract.current_version_id, contract.status, contract.draft_edited_by = version.id, ContractStatus.sent, None
    for request in await open_change_requests(db, contract):
        request.resolved_by_version_id = version.id
    await _audit(db, contract, "contract_version_sent", user.id, version=number, terms_hash=digest)
    other = "sent you the contract" if first else f"proposed changes (version {number})"
    notify_parties(db, contract, f"{user.name} {other}: “{contract.title}”.", except_user=user.id)
    review_if_stale(db, contract)
    recipient = (await _parties(db, contract))[contract.other_party(user.id)]
    subject = f"Contract to sign: {contract.title}" if number == 1 else f"Changes proposed: {contract.title}"
    _email(db, contract, recipient, subject, "contract_sent", sender=user.name, number=number, first=number == 1)
    return version


def sendable_problems(terms: Terms) -> list[str]:
    """What must be filled in before terms can go to the other party for signature."""
    problems = []
    if not terms.title.strip():
        problems.append("Give the contract a title.")
    if not terms.scope.strip():
        problems.append("Describe the scope of work.")
    if terms.kind == ContractKind.milestone:
        if not terms.milestones:
            problems.append("Add at least one milestone.")
    elif not (terms.retainer and terms.retainer.amount_minor):
        problems.append("Set the retainer amount.")
    return problems


def same_name(typed: str, name: str) -> bool:
    return " ".join(typed.split()).casefold() == " ".join(name.split()).casefold()


async def cancel(db: AsyncSession, contract_id: int, user: User) -> Contract:
    """Before both have signed, either party may walk away; nothing was signed and no money moved."""
    contract = await contract_for(db, contract_id, user, lock=True)
    if not contract.party(user.id) or (contract.status == ContractStatus.draft and user.id != contract.client_id):
        raise NotFound(contract_id)
    if contract.status not in (ContractStatus.draft, ContractStatus.sent):
        raise DomainError("A signed contract ends through an amendment that both of you sign.")
    contract.status, contract.ended_at = ContractStatus.cancelled, utcnow()
    await _audit(db, contract, "contract_cancelled", user.id)
    notify_parties(db, contract, f"{user.name} cancelled “{contract.title}”.", except_user=user.id)
    return contract


def signature_problems(
    user: User, typed_name: str, consent: bool, *, agreeing_to: str = "these terms"
) -> dict[str, list[str]]:
    """What every signature needs, for contracts and amendments alike, keyed by the sign form's
    fields (pages show them next to the field)."""
    problems: dict[str, list[str]] = {}
    if not consent:
        problems["consent"] = [f"Tick the box to confirm you agree to {agreeing_to}."]
    if not same_name(typed_name, user.name):
        problems["typed_name"] = [f"Type your full name exactly as on your account: {user.name}."]
    return problems


def check_signature_input(user: User, typed_name: str, consent: bool) -> None:
    for messages in signature_problems(user, typed_name, consent).values():
        raise DomainError(messages[0])


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
    new = await record_signature(db, contract, version, user, typed_name, context)
    if new:
        await _audit(db, contract, "contract_signed", user.id, version=version.number, terms_hash=version.terms_hash)
    if await signed_by_both(db, contract, version):
        contract.status, contract.activated_at = ContractStatus.active, utcnow()
        _create_milestones(db, contract, version.terms)
        await _audit(db, contract, "contract_activated", None, version=version.number, terms_hash=version.terms_hash)
        notify_parties(db, contract, f"“{contract.title}” is signed by both of you and now active.")
        await _after_activation(db, contract, version)
    elif new:
        notify_parties(db, contract, f"{user.name} signed “{contract.title}”.", except_user=user.id)
    return contract


async def _after_activation(db: AsyncSession, contract: Contract, version: ContractVersion) -> None:
    """The signed PDF is rendered in the worker; both parties get an e-mail (after commit)."""
    from app.contracts.documents import render_final_later

    render_final_later(db, contract.id, version.id)
    people = await _parties(db, contract)
    for person in people.values():
        _email(db, contract, person, f"Signed: {contract.title}", "contract_active",
               client=people[contract.client_id].name, contractor=people[contract.contractor_id].name,
               terms_hash=version.terms_hash)  # fmt: skip


async def record_signature(
    db: AsyncSession, contract: Contract, version: ContractVersion, user: User, typed_name: str, context: SignContext
) -> bool:
    """Bind the signer to this version's hash with their typed name, IP and browser. Returns
    False when they had signed it already (a double click signs once)."""
    already = await db.scalar(select(Signature).where(Signature.version_id == version.id, Signature.user_id == user.id))
    if already is not None:
        return False
    db.add(Signature(contract_id=contract.id, version_id=version.id, user_id=user.id, terms_hash=version.terms_hash,
                     typed_name=typed_name.strip(), ip=context.ip, user_agent=(context.user_agent or "")[:400] or None))  # fmt: skip
    await db.flush()
    return True


async def signed_by_both(db: AsyncSession, contract: Contract, version: ContractVersion) -> bool:
    signers = set((await db.scalars(select(Signature.user_id).where(Signature.version_id == version.id))).all())
    return {contract.client_id, contract.contractor_id} <= signers


def _create_milestones(db: AsyncSession, contract: Contract, terms: Terms) -> None:
    """The signed terms' milestones become rows whose state escrow and amendments move."""
    for position, m in enumerate(terms.milestones):
        db.add(
            Milestone(
                contract_id=contract.id,
                position=position,
                title=m.title,
                acceptance_criteria=m.acceptance_criteria,
                amount_minor=m.amount_minor,
                currency=terms.currency,
                due_date=m.due_date,
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
