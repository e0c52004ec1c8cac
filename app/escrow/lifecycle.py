"""A funded milestone's life: submit → approve and release (or ask for a revision) → released;
auto-approval when the review window ends; freeze and settle for disputes; refunds by signed
amendment; the contract completes when every milestone is finished.

Every verb locks the contract row, then the milestone (the order amendments and funding use),
checks the state it starts from and writes the change, its ledger entry, its audit event and its
notices in the caller's transaction. A second, racing call finds the new state and is refused
(or, for timers, does nothing), so money moves once. The caller commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.contracts.models import (
    FINISHED_MILESTONE_STATES,
    Contract,
    ContractStatus,
    Milestone,
    MilestoneStatus,
)
from app.contracts.services import (
    audit,
    contract_for,
    contract_path,
    current_version,
    milestone_path,
    notify_parties,
    parties_of,
)
from app.contracts.terms import PlatformFee
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.escrow.ledger import account, post_entry
from app.escrow.models import (
    AccountKind,
    EntryKind,
    Funding,
    FundingMilestone,
    FundingStatus,
    Submission,
    SubmissionAnswer,
    SubmissionFile,
)
from app.files.models import StoredFile
from app.invoices.services import issue_release_documents
from app.money import Money, format_minor
from app.notifications import notify
from app.web.templating import when
from app.worker.outbox import defer

HELD_STATES = frozenset({MilestoneStatus.funded, MilestoneStatus.submitted, MilestoneStatus.revision_requested})
REMINDERS = (timedelta(hours=48), timedelta(hours=24))  # before the review window ends


async def _locked(db: AsyncSession, milestone_id: int, user: User | None) -> tuple[Contract, Milestone]:
    """The milestone and its contract, both row-locked; NotFound unless `user` is a party (or
    an admin). `user=None` is the platform itself (timers, dispute decisions)."""
    contract_id = await db.scalar(select(Milestone.contract_id).where(Milestone.id == milestone_id))
    if contract_id is None:
        raise NotFound(milestone_id)
    if user is None:
        contract = await db.scalar(select(Contract).where(Contract.id == contract_id).with_for_update())
        assert contract is not None
    else:
        contract = await contract_for(db, contract_id, user, lock=True)
    milestone = await db.scalar(select(Milestone).where(Milestone.id == milestone_id).with_for_update())
    assert milestone is not None
    await db.refresh(contract)
    return contract, milestone


def _ensure_active(contract: Contract) -> None:
    if contract.status != ContractStatus.active:
        raise DomainError("This contract is not active, so its milestones can’t change.")


async def release_fee(db: AsyncSession, contract: Contract) -> PlatformFee:
    """The fee of the version in force: the signed one, never the settings (decision 0030);
    none before anything is signed."""
    version = await current_version(db, contract)
    return version.terms.release_fee if version is not None else PlatformFee(0)


async def latest_submission(db: AsyncSession, milestone_id: int) -> Submission | None:
    return await db.scalar(
        select(Submission).where(Submission.milestone_id == milestone_id).order_by(Submission.number.desc()).limit(1)
    )


async def submit(
    db: AsyncSession, milestone_id: int, contractor: User, message: str, files: Sequence[StoredFile] = ()
) -> Submission:
    """The contractor delivers: "What you delivered" and optional files. Starts the review clock."""
    contract, m = await _locked(db, milestone_id, contractor)
    if contractor.id != contract.contractor_id:
        raise NotFound(milestone_id)
    _ensure_active(contract)
    if m.period_start is not None:
        raise DomainError(f"“{m.title}” is a retainer period: it is paid at its end, with no work to submit for it.")
    if m.status not in (MilestoneStatus.funded, MilestoneStatus.revision_requested):
        if m.status == MilestoneStatus.pending:
            raise DomainError(f"“{m.title}” is not funded yet. Work can be submitted once the client funds it.")
        raise DomainError(f"“{m.title}” can’t be submitted now: it is {m.status.replace('_', ' ')}.")
    now = utcnow()
    number = (await db.scalar(select(func.count()).where(Submission.milestone_id == m.id))) + 1
    submission = Submission(milestone_id=m.id, number=number, author_id=contractor.id, message=message, created_at=now)
    db.add(submission)
    await db.flush()
    db.add_all(SubmissionFile(submission_id=submission.id, file_id=f.id) for f in files)
    m.status, m.submitted_at, m.reminders_sent = MilestoneStatus.submitted, now, 0
    version = await current_version(db, contract)
    assert version is not None  # an active contract has a signed version
    m.review_ends_at = now + timedelta(days=version.terms.review_window_days)
    await audit(db, contract, "milestone_submitted", contractor.id, milestone_id=m.id, submission=number,
          files=len(files), review_ends_at=m.review_ends_at.isoformat())  # fmt: skip
    client = (await parties_of(db, contract))[contract.client_id]
    notify_parties(db, contract)
    await notify(db, client, "milestone.submitted", link=milestone_path(contract.id, m.id), contract=contract.title,
                 milestone=m.title, contractor=contractor.name, review_ends=when(m.review_ends_at))  # fmt: skip
    return submission


async def approve(db: AsyncSession, milestone_id: int, client: User) -> Milestone:
    """ "Approve and release": the held amount goes to the contractor, less the signed fee."""
    contract, m = await _locked(db, milestone_id, client)
    if client.id != contract.client_id:
        raise NotFound(milestone_id)
    _ensure_active(contract)
    if m.status != MilestoneStatus.submitted:
        if m.status == MilestoneStatus.released:
            raise DomainError(f"“{m.title}” is already approved and released.")
        raise DomainError(f"“{m.title}” has no submitted work to approve.")
    await _release(db, contract, m, client.id, SubmissionAnswer.approved)
    return m


async def request_revision(db: AsyncSession, milestone_id: int, client: User, reason: str) -> Milestone:
    """ "Ask for a revision": the money stays held; the review clock stops until the next submission."""
    contract, m = await _locked(db, milestone_id, client)
    if client.id != contract.client_id:
        raise NotFound(milestone_id)
    _ensure_active(contract)
    if m.status != MilestoneStatus.submitted:
        raise DomainError(f"“{m.title}” has no submitted work to answer.")
    now = utcnow()
    submission = await latest_submission(db, m.id)
    assert submission is not None
    submission.answer, submission.reason = SubmissionAnswer.revision_requested, reason
    submission.answered_by, submission.answered_at = client.id, now
    m.status, m.review_ends_at = MilestoneStatus.revision_requested, None
    m.revision_count += 1
    await audit(db, contract, "milestone_revision_requested", client.id, milestone_id=m.id,
          submission=submission.number, revisions=m.revision_count)  # fmt: skip
    contractor = (await parties_of(db, contract))[contract.contractor_id]
    notify_parties(db, contract)
    await notify(db, contractor, "milestone.revision", link=milestone_path(contract.id, m.id), contract=contract.title,
                 milestone=m.title, client=client.name, reason=reason)  # fmt: skip
    return m


async def auto_approve(db: AsyncSession, milestone_id: int, *, now: datetime | None = None) -> bool:
    """The timer's verb: approve and release a submission whose review window has ended. False
    (and nothing changes) when the client answered first or the window has not ended."""
    contract, m = await _locked(db, milestone_id, None)
    now = now or utcnow()
    if contract.status != ContractStatus.active or m.status != MilestoneStatus.submitted:
        return False
    if m.review_ends_at is None or m.review_ends_at > now:
        return False
    await _release(db, contract, m, None, SubmissionAnswer.auto_approved)
    return True


async def due_for_auto_approval(db: AsyncSession, now: datetime, limit: int = 200) -> list[int]:
    rows = await db.scalars(
        select(Milestone.id)
        .where(Milestone.status == MilestoneStatus.submitted, Milestone.review_ends_at <= now)
        .order_by(Milestone.review_ends_at)
        .limit(limit)
    )
    return list(rows.all())


async def due_for_reminder(db: AsyncSession, now: datetime, limit: int = 200) -> list[int]:
    """Submitted milestones whose next reminder (48 h, then 24 h before the end) is due."""
    conditions = [
        (Milestone.reminders_sent == i) & (Milestone.review_ends_at - before <= now)
        for i, before in enumerate(REMINDERS)
    ]
    rows = await db.scalars(
        select(Milestone.id)
        .where(Milestone.status == MilestoneStatus.submitted, Milestone.review_ends_at > now)
        .where(conditions[0] | conditions[1])
        .order_by(Milestone.review_ends_at)
        .limit(limit)
    )
    return list(rows.all())


async def remind(db: AsyncSession, milestone_id: int, *, now: datetime | None = None) -> bool:
    """Send the client the reminder that is due (compare-and-set on `reminders_sent`): the 48 h
    one, or the 24 h one; a reminder that is already late by the next mark is skipped."""
    contract, m = await _locked(db, milestone_id, None)
    now = now or utcnow()
    if contract.status != ContractStatus.active or m.status != MilestoneStatus.submitted or m.review_ends_at is None:
        return False
    left = m.review_ends_at - now
    if left <= timedelta(0):
        return False
    due = sum(1 for before in REMINDERS if left <= before)  # 1: within 48 h, 2: within 24 h
    if due <= m.reminders_sent:
        return False
    m.reminders_sent = due
    hours = 24 if due == 2 else 48
    client = (await parties_of(db, contract))[contract.client_id]
    notify_parties(db, contract)
    await notify(db, client, "milestone.review_reminder", link=milestone_path(contract.id, m.id), contract=contract.title,
                 milestone=m.title, hours=hours, review_ends=when(m.review_ends_at))  # fmt: skip
    await audit(db, contract, "milestone_review_reminder", None, milestone_id=m.id, hours=hours)
    return True


async def _release(
    db: AsyncSession,
    contract: Contract,
    m: Milestone,
    actor_id: int | None,
    answer: SubmissionAnswer,
    *,
    how: str | None = None,
) -> None:
    """Release a held milestone (or a retainer period at its end, `how` saying so in the e-mail)."""
    now = utcnow()
    submission = await latest_submission(db, m.id)
    if submission is not None:
        submission.answer, submission.answered_by, submission.answered_at = answer, actor_id, now
    m.status, m.approved_at = MilestoneStatus.approved, now
    await audit(db, contract, "milestone_approved", actor_id, milestone_id=m.id, automatic=answer == SubmissionAnswer.auto_approved)  # fmt: skip
    held = Money(m.amount_minor, m.currency)
    fee = await release_fee(db, contract)
    await _pay_out_of_escrow(db, contract, m, refund=Money(0, m.currency), release=held, fee=fee,
                             kind=EntryKind.release, reference=f"release:milestone:{m.id}", actor_id=actor_id)  # fmt: skip
    m.status, m.released_at, m.review_ends_at = MilestoneStatus.released, now, None
    share = fee.contractor_share(held)
    await audit(db, contract, "milestone_released", actor_id, milestone_id=m.id, amount_minor=held.amount_minor,
          fee_minor=fee.fee_on(held).amount_minor, contractor_minor=share.amount_minor, currency=m.currency)  # fmt: skip
    people = await parties_of(db, contract)
    client, contractor = people[contract.client_id], people[contract.contractor_id]
    automatic = answer == SubmissionAnswer.auto_approved
    if how is None:
        how = "automatically, as the review window ended" if automatic else f"by {client.name}"
    notify_parties(db, contract)
    data = {"contract": contract.title, "milestone": m.title, "how": how,
            "amount": format_minor(share.amount_minor, share.currency)}  # fmt: skip
    await notify(db, contractor, "milestone.released", link=milestone_path(contract.id, m.id), **data)
    if automatic:
        # Nobody clicked: the client hears that their money went, and how much (before the fee).
        data["amount"] = format_minor(held.amount_minor, held.currency)
        await notify(db, client, "milestone.auto_approved", link=milestone_path(contract.id, m.id),
                     contractor=contractor.name, **data)  # fmt: skip
    await complete_if_done(db, contract)


async def _pay_out_of_escrow(
    db: AsyncSession,
    contract: Contract,
    m: Milestone,
    *,
    refund: Money,
    release: Money,
    fee: PlatformFee,
    kind: EntryKind,
    reference: str,
    actor_id: int | None,
) -> None:
    """One entry taking the milestone's held amount out of escrow: `refund` to the client,
    `release` to the contractor less the fee. Refused unless the two add up to exactly what is held."""
    held = Money(m.amount_minor, m.currency)
    for part in (refund, release):
        if part.currency != held.currency:
            raise DomainError(f"This milestone is held in {held.currency}, not {part.currency}.")
        if part.amount_minor < 0:
            raise DomainError("A refund or a release can’t be negative.")
    if refund.amount_minor + release.amount_minor != held.amount_minor:
        raise DomainError(
            f"The refund and the release must add up to exactly the held amount, "
            f"{format_minor(held.amount_minor, held.currency)}."
        )
    escrow = await account(db, AccountKind.escrow, m.currency, contract_id=contract.id)
    lines: list = [(escrow, -held)]
    if refund.amount_minor:
        lines.append((await account(db, AccountKind.refunds, m.currency, user_id=contract.client_id), refund))
    if release.amount_minor:
        payable = await account(db, AccountKind.contractor_payable, m.currency, user_id=contract.contractor_id)
        lines.append((payable, fee.contractor_share(release)))
        if fee.fee_minor(release.amount_minor):
            lines.append((await account(db, AccountKind.platform_fees, m.currency), fee.fee_on(release)))
    entry = await post_entry(db, kind, lines, reference=reference, description=f"“{m.title}”",
                             contract_id=contract.id, milestone_id=m.id, actor_id=actor_id)  # fmt: skip
    if release.amount_minor:
        # The contractor's invoice for what is released and Pactline's fee invoice (decision 0040).
        await issue_release_documents(db, contract, m, entry, release, fee)
    if refund.amount_minor:
        await _refund_at_provider(db, m, refund, key=reference)


async def _refund_at_provider(db: AsyncSession, m: Milestone, amount: Money, *, key: str) -> None:
    """Give the client's money back through the provider that took it (an outbox row)."""
    funding = await db.scalar(
        select(Funding)
        .join(FundingMilestone, FundingMilestone.funding_id == Funding.id)
        .where(FundingMilestone.milestone_id == m.id, Funding.status == FundingStatus.paid)
    )
    if funding is None or funding.provider_payment_id is None:
        raise DomainError(f"“{m.title}” has no payment to refund.")
    defer(db, "refund_payment", funding_id=funding.id, payment_id=funding.provider_payment_id,
          amount_minor=amount.amount_minor, currency=amount.currency, key=key, client_id=funding.client_id)  # fmt: skip


def refund_paid_reference(key: str) -> str:
    """The ledger reference of the entry that closes a refund the provider made with `key`: one
    entry per key, however often the refund job runs."""
    return f"refund_paid:{key}"


async def close_refund(
    db: AsyncSession, funding_id: int, amount: Money, *, key: str, refund_id: str, client_id: int | None = None
) -> None:
    """The provider gave `amount` back (its refund `refund_id`, made with `key`): the client's
    refunds account, which held what the provider still had to give back, goes down by it and
    the money leaves through provider clearing. Posting it again for the same key moves nothing."""
    funding = await db.get_one(Funding, funding_id)
    owner = client_id if client_id is not None else funding.client_id
    refunds = await account(db, AccountKind.refunds, amount.currency, user_id=owner)
    clearing = await account(db, AccountKind.provider_clearing, amount.currency)
    await post_entry(db, EntryKind.refund_paid, [(refunds, -amount), (clearing, amount)],
                     reference=refund_paid_reference(key), description=f"Refunded by the payment provider ({refund_id})",
                     contract_id=funding.contract_id, actor_id=None)  # fmt: skip


async def refund(db: AsyncSession, contract: Contract, m: Milestone, *, actor_id: int | None, why: str) -> None:
    """Give a funded milestone that was not submitted back to the client in full (a signed
    amendment removing it). The caller holds the contract's and the milestone's row locks."""
    if m.status != MilestoneStatus.funded:
        raise DomainError(f"“{m.title}” can be refunded only while it is funded and not submitted.")
    held = Money(m.amount_minor, m.currency)
    await _pay_out_of_escrow(db, contract, m, refund=held, release=Money(0, m.currency), fee=PlatformFee(0),
                             kind=EntryKind.refund, reference=f"refund:milestone:{m.id}", actor_id=actor_id)  # fmt: skip
    m.status, m.closed_at = MilestoneStatus.refunded, utcnow()
    await audit(db, contract, "milestone_refunded", actor_id, milestone_id=m.id, amount_minor=held.amount_minor,
          currency=m.currency, why=why)  # fmt: skip


async def split(
    db: AsyncSession, contract: Contract, m: Milestone, refund_part: Money, release_part: Money, *, actor_id: int | None
) -> None:
    """End a held milestone with the held amount split between refund and release (a signed
    termination's split). The caller holds the locks. Exactly the held amount, or refused."""
    if m.status not in HELD_STATES:
        raise DomainError(f"“{m.title}” holds no money to split.")
    await _pay_out_of_escrow(db, contract, m, refund=refund_part, release=release_part, fee=await release_fee(db, contract),
                             kind=EntryKind.settlement, reference=f"split:milestone:{m.id}", actor_id=actor_id)  # fmt: skip
    _finish_split(m, refund_part, release_part)
    await audit(db, contract, "milestone_split", actor_id, milestone_id=m.id, refund_minor=refund_part.amount_minor,
          release_minor=release_part.amount_minor, currency=m.currency)  # fmt: skip


def _finish_split(m: Milestone, refund_part: Money, release_part: Money) -> None:
    now = utcnow()
    if not release_part.amount_minor:
        m.status, m.closed_at = MilestoneStatus.refunded, now
    elif not refund_part.amount_minor:
        m.status, m.released_at = MilestoneStatus.released, now
    else:
        m.status, m.closed_at = MilestoneStatus.settled, now
    m.review_ends_at = None


async def freeze(db: AsyncSession, milestone_id: int, *, actor_id: int | None) -> Milestone:
    """A dispute holds the money where it is: no release, no auto-approval, until `settle`."""
    contract, m = await _locked(db, milestone_id, None)
    if m.status not in HELD_STATES:
        raise DomainError(f"“{m.title}” holds no money, so there is nothing to freeze.")
    m.status, m.review_ends_at = MilestoneStatus.disputed, None
    await audit(db, contract, "milestone_frozen", actor_id, milestone_id=m.id)
    await _tell_both(db, contract, m, "milestone.disputed", amount=format_minor(m.amount_minor, m.currency))
    return m


async def settle(
    db: AsyncSession, milestone_id: int, refund_part: Money, release_part: Money, *, actor_id: int | None
) -> Milestone:
    """A dispute decision: exactly the held amount, split between refund and release (the fee
    applies to the released part). Anything else is refused and nothing moves."""
    contract, m = await _locked(db, milestone_id, None)
    if m.status != MilestoneStatus.disputed:
        raise DomainError(f"“{m.title}” is not in a dispute, so it can’t be settled.")
    await _pay_out_of_escrow(db, contract, m, refund=refund_part, release=release_part, fee=await release_fee(db, contract),
                             kind=EntryKind.settlement, reference=f"settlement:milestone:{m.id}", actor_id=actor_id)  # fmt: skip
    m.status, m.closed_at, m.review_ends_at = MilestoneStatus.settled, utcnow(), None
    await audit(db, contract, "milestone_settled", actor_id, milestone_id=m.id, refund_minor=refund_part.amount_minor,
          release_minor=release_part.amount_minor, currency=m.currency)  # fmt: skip
    await _tell_both(db, contract, m, "dispute.settled", refund=str(refund_part), release=str(release_part),
                     amount=format_minor(m.amount_minor, m.currency))  # fmt: skip
    await complete_if_done(db, contract)
    return m


async def complete_if_done(db: AsyncSession, contract: Contract) -> bool:
    """An active contract is completed when every milestone that was not removed is released,
    refunded or settled (DESIGN §6). A retainer is open-ended: it completes only after a signed
    ending, and then even when the ending removed every period (decision 0042)."""
    if contract.status != ContractStatus.active:
        return False
    retainer = contract.draft_terms.is_retainer
    if retainer and contract.draft_terms.termination is None:
        return False
    statuses = (
        await db.scalars(
            select(Milestone.status).where(
                Milestone.contract_id == contract.id, Milestone.status != MilestoneStatus.removed
            )
        )
    ).all()
    if (not statuses and not retainer) or any(MilestoneStatus(s) not in FINISHED_MILESTONE_STATES for s in statuses):
        return False
    contract.status, contract.ended_at = ContractStatus.completed, utcnow()
    await audit(db, contract, "contract_completed", None)
    if retainer:
        outcome = "has ended: both of you signed, and every period is settled."
    else:
        outcome = "is complete: every milestone is paid out or refunded."
    notify_parties(db, contract)
    for person in (await parties_of(db, contract)).values():
        await notify(db, person, "contract.completed", link=contract_path(contract.id), contract=contract.title,
                     outcome=outcome, retainer=retainer)  # fmt: skip
    return True


async def _tell_both(db: AsyncSession, contract: Contract, m: Milestone, kind: str, **data) -> None:
    """A change about a milestone that concerns both parties equally (nobody of them acted)."""
    notify_parties(db, contract)
    for person in (await parties_of(db, contract)).values():
        await notify(db, person, kind, link=milestone_path(contract.id, m.id), contract=contract.title, milestone=m.title,
                     is_client=person.id == contract.client_id, **data)  # fmt: skip
