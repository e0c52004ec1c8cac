"""Amendments to an active contract: one party proposes, both sign the new version, it applies at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import ensure_verified
from app.accounts.models import Role, User
from app.audit.chain import append
from app.contracts.amendments.changes import (
    AddMilestone,
    ChangeMilestone,
    EndContract,
    RemoveMilestone,
)
from app.contracts.amendments.forms import Proposed
from app.contracts.amendments.rules import (
    blocked_reason,
    currency_of,
    fixed_reason,
    new_terms,
    normalize_changes,
    paying_reason,
    termination_of,
)
from app.contracts.amendments.views import panel_event
from app.contracts.models import (
    Amendment,
    AmendmentStatus,
    Contract,
    ContractStatus,
    ContractVersion,
    Milestone,
    MilestoneStatus,
)
from app.contracts.services import contract_for, contract_path, notify_parties
from app.contracts.signing.services import SignContext, check_signature_input, record_signature, signed_by_both
from app.contracts.versions import terms_hash
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.escrow import lifecycle
from app.escrow.funding import open_fundings_of
from app.escrow.lifecycle import HELD_STATES
from app.events import publish
from app.money import Money
from app.notifications import notify

ALREADY_OPEN = (
    "There is already a change waiting for signatures. Sign, decline or withdraw it before proposing another."
)
STALE = "The terms changed since you opened this page. Read the new version before signing."
WITHDRAW = "Withdraw this change and propose a new one."
NOT_YET = "This change can't be applied until then; nothing has changed."


def _held(m: Milestone) -> int:
    """What removing `m` refunds: its amount while it is funded, else nothing."""
    return m.amount_minor if m.status == MilestoneStatus.funded else 0


def _audit(db: AsyncSession, contract: Contract, kind: str, actor_id: int | None, **data: Any):
    return append(db, kind, actor_id=actor_id, subject_type="contract", subject_id=contract.public_id, data=data)


async def _all_milestones(db: AsyncSession, contract: Contract, *, lock: bool = False) -> list[Milestone]:
    """Every milestone row (removed ones too), in order; locked and re-read when asked."""
    query = select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position, Milestone.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list((await db.scalars(query)).all())


async def open_amendment(db: AsyncSession, contract: Contract) -> Amendment | None:
    return await db.scalar(
        select(Amendment).where(Amendment.contract_id == contract.id, Amendment.status == AmendmentStatus.proposed)
    )


async def amendment_for(
    db: AsyncSession, contract_id: int, amendment_id: int, user: User
) -> tuple[Contract, Amendment]:
    """The amendment and its contract, for the contract's parties and admins; 404 for anyone else."""
    contract = await contract_for(db, contract_id, user)
    amendment = await db.get(Amendment, amendment_id)
    if amendment is None or amendment.contract_id != contract.id:
        raise NotFound(amendment_id)
    return contract, amendment


async def amendable_milestones(db: AsyncSession, contract: Contract) -> list[dict[str, Any]]:
    """The milestones of the terms for the proposal form, each with the reason it can't be
    touched at all (`blocked`), or only removed (`fixed`: funded), or None; `held`: its money is
    in escrow, so ending the contract needs a split of it; `paying`: a checkout is in progress."""
    paying = await open_fundings_of(db, contract.id)
    rows = []
    for m in await _all_milestones(db, contract):
        if m.status in (MilestoneStatus.removed, MilestoneStatus.refunded):
            continue  # no longer part of the terms
        blocked = paying_reason(m) if m.id in paying else blocked_reason(m)
        rows.append({
            "milestone": m,
            "amount": Money(m.amount_minor, m.currency),
            "blocked": blocked,
            "fixed": None if blocked else fixed_reason(m),
            "held": m.status in HELD_STATES,
            "paying": m.id in paying,
        })  # fmt: skip
    return rows


async def propose(db: AsyncSession, contract_id: int, user: User, changes: list[Proposed], reason: str) -> Amendment:
    """Freeze the changed terms as the contract's next version, waiting for both signatures."""
    if user.role == Role.admin:
        raise NotFound(contract_id)  # admins oversee contracts; they never change them
    contract = await contract_for(db, contract_id, user, lock=True)
    await db.refresh(contract)
    ensure_verified(user)
    if contract.status != ContractStatus.active:
        raise DomainError("Only an active contract can be changed this way.")
    if await open_amendment(db, contract) is not None:
        raise DomainError(ALREADY_OPEN)
    current = await db.get(ContractVersion, contract.current_version_id)
    assert current is not None
    rows = await _all_milestones(db, contract, lock=True)
    paying = await open_fundings_of(db, contract.id)
    normalized, reason = normalize_changes(contract, rows, changes, reason, paying.keys())
    terms = new_terms(contract, current.terms, rows, normalized)
    digest = terms_hash(terms)
    number = (
        await db.scalar(select(func.max(ContractVersion.number)).where(ContractVersion.contract_id == contract.id)) or 0
    ) + 1
    try:
        async with db.begin_nested():
            version = ContractVersion(
                contract_id=contract.id, number=number, terms=terms, terms_hash=digest, created_by=user.id
            )
            db.add(version)
            await db.flush()
            amendment = Amendment(
                contract_id=contract.id,
                version_id=version.id,
                proposed_by=user.id,
                changes=normalized,
                reason=reason,
                status=AmendmentStatus.proposed,
            )
            db.add(amendment)
            await db.flush()
    except IntegrityError as exc:  # the one-open-amendment index, if a check above was raced
        raise DomainError(ALREADY_OPEN) from exc
    # The chain carries what proves the change (its version hash), not the private terms themselves.
    ops = [c.op for c in normalized]
    await _audit(
        db,
        contract,
        "amendment_proposed",
        user.id,
        amendment_id=amendment.id,
        version=number,
        terms_hash=digest,
        ops=ops,
    )
    await _tell_other_party(db, contract, user, "amendment.proposed", reason=reason or "")
    return amendment


async def sign_amendment(
    db: AsyncSession,
    amendment_id: int,
    user: User,
    *,
    version_hash: str,
    typed_name: str,
    consent: bool,
    context: SignContext,
) -> Amendment:
    """Sign the amendment's version; the second signature applies it. The contract row is locked
    first, so two parties signing at the same moment apply it exactly once."""
    contract = await _locked_contract_of(db, amendment_id, user)
    await db.refresh(contract)
    ensure_verified(user)
    amendment = await _locked_amendment(db, amendment_id)
    if amendment.status != AmendmentStatus.proposed:
        raise DomainError(_closed(amendment))
    if contract.status != ContractStatus.active:
        raise DomainError("This contract is no longer active, so the change can't be signed.")
    version = await db.get(ContractVersion, amendment.version_id)
    assert version is not None
    if version.terms_hash != version_hash:
        raise DomainError(STALE)
    check_signature_input(user, typed_name, consent)
    new = await record_signature(db, contract, version, user, typed_name, context)
    if new:
        await _audit(db, contract, "amendment_signed", user.id,
                     amendment_id=amendment.id, version=version.number, terms_hash=version.terms_hash)  # fmt: skip
    if await signed_by_both(db, contract, version):
        await _apply(db, contract, amendment, version)
        from app.contracts.documents.services import render_final_later

        render_final_later(db, contract.id, version.id)
        result = "it is now part of the contract"
        if contract.status == ContractStatus.terminated or termination_of(amendment.changes) is not None:
            result = "the contract has ended"
        await _tell_other_party(db, contract, user, "amendment.applied", result=result)
    elif new:
        await _tell_other_party(db, contract, user, "amendment.decided", decision="signed")
    return amendment


async def _apply(db: AsyncSession, contract: Contract, amendment: Amendment, version: ContractVersion) -> None:
    """Under the contract's and milestones' row locks: re-check, then change the rows to match
    the signed version. Any refusal raises, and the caller's rollback leaves everything as it was."""
    if contract.status != ContractStatus.active:
        raise DomainError("This contract is no longer active, so the change can't be applied.")
    rows = await _all_milestones(db, contract, lock=True)
    by_id = {m.id: m for m in rows}
    changes = amendment.changes
    # Funding takes the contract's row lock too, so no checkout opens or pays while this runs.
    paying = await open_fundings_of(db, contract.id)
    for change in changes:
        if isinstance(change, RemoveMilestone | ChangeMilestone):
            m = by_id.get(change.milestone_id)
            if m is None:
                raise DomainError(f"A milestone in this change no longer exists. {WITHDRAW}")
            why = blocked_reason(m) if isinstance(change, RemoveMilestone) else fixed_reason(m)
            if why is not None:
                raise DomainError(f"{why} This change can't be applied any more: withdraw it and propose a new one.")
            if isinstance(change, RemoveMilestone) and change.refund_minor != _held(m):
                raise DomainError(
                    f"“{m.title}” was funded after this change was proposed, so removing it now would also refund "
                    f"it, which is not what you signed. {WITHDRAW}"
                )
            if m.id in paying:
                raise DomainError(f"{paying_reason(m)} {NOT_YET}")
        if isinstance(change, EndContract):
            for m in rows:
                if m.status == MilestoneStatus.disputed:
                    raise DomainError(f"{blocked_reason(m)} The contract can't end until that is settled.")
                if m.id in paying:
                    raise DomainError(f"{paying_reason(m)} {NOT_YET}")
            held = {m.id: m.amount_minor for m in rows if m.status in HELD_STATES}
            signed = {s.milestone_id: s.held_minor for s in change.splits}
            if held != signed:
                raise DomainError(
                    "The money held in escrow changed since this ending was proposed, so its split no longer "
                    f"matches what you signed. {WITHDRAW}"
                )
    current = await db.get(ContractVersion, contract.current_version_id)
    assert current is not None
    if terms_hash(new_terms(contract, current.terms, rows, changes)) != version.terms_hash:
        raise DomainError(
            "The contract changed since this change was proposed, so it no longer matches what you signed. "
            "Withdraw it and propose a new one."
        )
    now = utcnow()
    m_currency = currency_of(contract)
    position = max((m.position for m in rows), default=-1)
    for change in changes:
        match change:
            case AddMilestone():
                position += 1
                db.add(Milestone(contract_id=contract.id, position=position, title=change.title,
                                 acceptance_criteria=change.acceptance_criteria, amount_minor=change.amount_minor,
                                 currency=currency_of(contract), status=MilestoneStatus.pending,
                                 due_date=change.due_date))  # fmt: skip
            case RemoveMilestone():
                m = by_id[change.milestone_id]
                if change.refund_minor:
                    await lifecycle.refund(db, contract, m, actor_id=None, why="removed by a signed amendment")
                else:
                    m.status = MilestoneStatus.removed
            case ChangeMilestone():
                m = by_id[change.milestone_id]
                if change.amount_minor is not None:
                    m.amount_minor = change.amount_minor
                if change.moves_due_date:
                    m.due_date = change.due_date
            case EndContract():
                for split in change.splits:
                    refund, release = Money(split.refund_minor, m_currency), Money(split.release_minor, m_currency)
                    await lifecycle.split(db, contract, by_id[split.milestone_id], refund, release, actor_id=None)
                for m in rows:
                    if m.status == MilestoneStatus.pending:
                        m.status = MilestoneStatus.removed
    contract.current_version_id = version.id
    contract.draft_terms = version.terms  # the working copy of an active contract is its current version
    amendment.status, amendment.decided_at = AmendmentStatus.applied, now
    await db.flush()
    await _audit(db, contract, "amendment_applied", None,
                 amendment_id=amendment.id, version=version.number, terms_hash=version.terms_hash)  # fmt: skip
    termination = termination_of(changes)
    if termination is not None:
        await _audit(
            db, contract, "contract_terminated", None,
            amendment_id=amendment.id, version=version.number, terms_hash=version.terms_hash,
            escrow_held_minor=termination.escrow_held_minor,
            removed_milestones=[r.milestone_id for r in termination.removed],
        )  # fmt: skip
    if termination is not None and contract.draft_terms.is_retainer:
        # A retainer is open-ended: a signed ending is how it finishes. Its unfunded periods were
        # removed and its held ones split as signed above; it completes (decision 0042).
        from app.retainers.services import after_ending

        await after_ending(db, contract)
    elif termination is not None:
        contract.status, contract.ended_at = ContractStatus.terminated, now
    else:
        # What the change left may be all finished (the last open milestone removed): completed.
        await lifecycle.complete_if_done(db, contract)
    # Both parties' open contract pages reload their terms and milestones.
    notify_parties(db, contract)


async def withdraw(db: AsyncSession, amendment_id: int, user: User) -> Amendment:
    """The proposer takes the change back before both have signed."""
    return await _close(db, amendment_id, user, AmendmentStatus.withdrawn)


async def decline(db: AsyncSession, amendment_id: int, user: User) -> Amendment:
    """The other party says no; the contract stays as it is."""
    return await _close(db, amendment_id, user, AmendmentStatus.declined)


async def _close(db: AsyncSession, amendment_id: int, user: User, status: AmendmentStatus) -> Amendment:
    contract = await _locked_contract_of(db, amendment_id, user)
    amendment = await _locked_amendment(db, amendment_id)
    if amendment.status != AmendmentStatus.proposed:
        raise DomainError(_closed(amendment))
    proposer = amendment.proposed_by == user.id
    if status == AmendmentStatus.withdrawn and not proposer:
        raise DomainError("Only the person who proposed this change can withdraw it. You can decline it instead.")
    if status == AmendmentStatus.declined and proposer:
        raise DomainError("You proposed this change: withdraw it instead.")
    amendment.status, amendment.decided_at = status, utcnow()
    await db.flush()
    await _audit(db, contract, f"amendment_{status.value}", user.id, amendment_id=amendment.id)
    verb = "withdrew" if status == AmendmentStatus.withdrawn else "declined"
    await _tell_other_party(db, contract, user, "amendment.decided", decision=verb)
    return amendment


async def _locked_contract_of(db: AsyncSession, amendment_id: int, user: User) -> Contract:
    """The amendment's contract, locked, for a party (admins oversee; they never act on one)."""
    if user.role == Role.admin:
        raise NotFound(amendment_id)
    contract_id = await db.scalar(select(Amendment.contract_id).where(Amendment.id == amendment_id))
    if contract_id is None:
        raise NotFound(amendment_id)
    return await contract_for(db, contract_id, user, lock=True)


async def _locked_amendment(db: AsyncSession, amendment_id: int) -> Amendment:
    query = select(Amendment).where(Amendment.id == amendment_id).with_for_update()
    amendment = await db.scalar(query.execution_options(populate_existing=True))
    assert amendment is not None
    return amendment


def _closed(amendment: Amendment) -> str:
    return {
        AmendmentStatus.applied: "This change was already signed by both of you and applied.",
        AmendmentStatus.withdrawn: "This change was withdrawn, so it can't be signed any more.",
        AmendmentStatus.declined: "This change was declined, so it can't be signed any more.",
    }.get(AmendmentStatus(amendment.status), "This change is no longer waiting for signatures.")


async def _tell_other_party(db: AsyncSession, contract: Contract, actor: User, kind: str, **data: Any) -> None:
    """The other party's open contract page re-fetches its amendments panel (a signal), and they
    are notified of `kind` (in this transaction)."""
    other = await db.get(User, contract.other_party(actor.id))
    assert other is not None
    publish(db, other.id, panel_event(contract.id), {"changed": True})
    await notify(db, other, kind, link=contract_path(contract.id), actor=actor.name, contract=contract.title, **data)
