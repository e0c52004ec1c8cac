"""Versions and signing: sending the terms as a new version, asking for changes, signing a version,
activation and cancelling before both have signed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import ensure_verified
from app.accounts.models import Role, User
from app.contracts.drafting.services import has_unsent_changes
from app.contracts.models import (
    ChangeRequest,
    Contract,
    ContractStatus,
    ContractVersion,
    Milestone,
    MilestoneStatus,
    Signature,
)
from app.contracts.services import (
    audit,
    can_edit,
    contract_for,
    contract_path,
    notify_parties,
    parties_of,
    review_if_stale,
)
from app.contracts.terms import ContractKind, PlatformFee, Terms
from app.contracts.versions import terms_hash
from app.db import utcnow
from app.errors import DomainError, FormError, NotFound
from app.notifications import notify


@dataclass(frozen=True)
class SignContext:
    ip: str | None = None
    user_agent: str | None = None


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
    await audit(db, contract, "contract_change_requested", user.id, change_request_id=request.id)
    notify_parties(db, contract)
    await tell_other_party(db, contract, user, "contract.change_requested", message=message)
    return request


async def tell_other_party(db: AsyncSession, contract: Contract, actor: User, kind: str, **data) -> None:
    """The party who did not act hears of it (a notification in this transaction); `actor` and
    `contract` are in every contract kind's data."""
    other = (await parties_of(db, contract))[contract.other_party(actor.id)]
    await notify(db, other, kind, link=contract_path(contract.id), actor=actor.name, contract=contract.title, **data)


async def open_change_requests(db: AsyncSession, contract: Contract) -> list[ChangeRequest]:
    query = (
        select(ChangeRequest)
        .where(ChangeRequest.contract_id == contract.id, ChangeRequest.resolved_by_version_id.is_(None))
        .order_by(ChangeRequest.id)
    )
    return list((await db.scalars(query)).all())


async def send(db: AsyncSession, contract_id: int, user: User, *, fee: PlatformFee) -> ContractVersion:
    """Freeze the current terms as the next version; signatures on older versions no longer count.
    A new version carries `fee` (PLATFORM_FEE_PERCENT, PlatformFee.current) in its terms, so the fee is
    hashed and signed with them (decision 0030)."""
    contract = await contract_for(db, contract_id, user, lock=True)
    if contract.status not in (ContractStatus.draft, ContractStatus.sent):
        raise DomainError("This contract is no longer being negotiated.")
    if not can_edit(contract, user):
        raise NotFound(contract_id)
    problems = sendable_problems(contract.draft_terms)
    if problems:
        raise DomainError("Before sending: " + " ".join(problems))
    current = await db.get(ContractVersion, contract.current_version_id) if contract.current_version_id else None
    if current is not None and not has_unsent_changes(contract, current):
        review_if_stale(db, contract)
        return current  # nothing changed since the last version
    terms = contract.draft_terms.with_(platform_fee=fee)
    digest = terms_hash(terms)
    number = (
        await db.scalar(select(func.max(ContractVersion.number)).where(ContractVersion.contract_id == contract.id)) or 0
    ) + 1
    version = ContractVersion(
        contract_id=contract.id, number=number, terms=terms, terms_hash=digest, created_by=user.id
    )
    db.add(version)
    await db.flush()
    first = contract.status == ContractStatus.draft
    contract.current_version_id, contract.status, contract.draft_edited_by = version.id, ContractStatus.sent, None
    for request in await open_change_requests(db, contract):
        request.resolved_by_version_id = version.id
    await audit(db, contract, "contract_version_sent", user.id, version=number, terms_hash=digest)
    notify_parties(db, contract)
    review_if_stale(db, contract)
    sent = "sent you" if first else f"sent you version {number} of"
    await tell_other_party(db, contract, user, "contract.sent", sender=user.name, sent=sent, number=number, first=first)
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
    await audit(db, contract, "contract_cancelled", user.id)
    notify_parties(db, contract)
    if contract.current_version_id is not None:  # a draft never sent: the contractor never saw it
        await tell_other_party(db, contract, user, "contract.cancelled")
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
        await audit(db, contract, "contract_signed", user.id, version=version.number, terms_hash=version.terms_hash)
    if await signed_by_both(db, contract, version):
        contract.status, contract.activated_at = ContractStatus.active, utcnow()
        if version.terms.is_retainer:
            from app.retainers.services import schedule_at_activation

            periods = schedule_at_activation(db, contract, version.terms)  # its periods (decision 0042)
        else:
            _create_milestones(db, contract, version.terms)
        await audit(db, contract, "contract_activated", None, version=version.number, terms_hash=version.terms_hash)
        if version.terms.is_retainer:
            await audit(db, contract, "retainer_periods_added", None, added=periods)
        notify_parties(db, contract)
        await _after_activation(db, contract, version)
    elif new:
        notify_parties(db, contract)
        await tell_other_party(db, contract, user, "contract.signed")
    return contract


async def _after_activation(db: AsyncSession, contract: Contract, version: ContractVersion) -> None:
    """The signed PDF is rendered in the worker; both parties are notified (in this transaction)."""
    from app.contracts.documents.services import render_final_later

    render_final_later(db, contract.id, version.id)
    people = await parties_of(db, contract)
    for person in people.values():
        await notify(db, person, "contract.active", link=contract_path(contract.id), contract=contract.title,
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
