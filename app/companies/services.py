"""Company rules: creating, verifying, inviting, accepting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.companies.forms import CompanyInput, InvitationInput
from app.companies.models import (
    Company,
    CompanyContractor,
    CompanyMember,
    Invitation,
    InvitationKind,
    MemberRole,
    Verification,
)
from app.db import utcnow
from app.errors import DomainError, FormError, NotFound
from app.notifications import notify
from app.notifications.kinds import get as get_kind
from app.platform.secret_links import derive_token, digest, new_nonce
from app.web.urls import path_for
from app.worker.outbox import defer

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_PURPOSE = "invitation"
NOTE_MAX = 500  # the column's size


@dataclass
class Membership:
    company: Company
    member: CompanyMember

    @property
    def is_owner(self) -> bool:
        return self.member.role == MemberRole.owner


async def membership_of(db: AsyncSession, user: User) -> Membership | None:
    row = (
        await db.execute(
            select(Company, CompanyMember)
            .join(CompanyMember, CompanyMember.company_id == Company.id)
            .where(CompanyMember.user_id == user.id, CompanyMember.left_at.is_(None))
        )
    ).first()
    return Membership(*row) if row else None


async def create_company(db: AsyncSession, owner: User, data: CompanyInput) -> Company:
    if owner.role != Role.client:
        raise DomainError("Only client accounts can create a company.")
    if await membership_of(db, owner) is not None:
        raise DomainError("You already belong to a company. Leave it first to create another.")
    company = Company(
        name=data.name,
        registration_number=data.registration_number,
        country=data.country,
        vat_id=data.vat_id,
        address=data.address,
        created_by=owner.id,
    )
    db.add(company)
    await db.flush()
    db.add(CompanyMember(company_id=company.id, user_id=owner.id, role=MemberRole.owner))
    return company


async def update_company(db: AsyncSession, membership: Membership, data: CompanyInput) -> Company:
    if not membership.is_owner:
        raise DomainError("Only the company's owner can change its details.")
    company = membership.company
    identity_changed = (data.name, data.registration_number, data.country) != (
        company.name,
        company.registration_number,
        company.country,
    )
    company.name, company.registration_number, company.country = data.name, data.registration_number, data.country
    company.vat_id, company.address = data.vat_id, data.address
    if identity_changed and company.verification in (Verification.verified, Verification.pending):
        # A verified identity that changes must be checked again.
        company.verification, company.verification_note = Verification.unverified, None
    return company


async def request_verification(db: AsyncSession, membership: Membership) -> Company:
    if not membership.is_owner:
        raise DomainError("Only the company's owner can ask for verification.")
    result = await db.execute(
        update(Company)
        .where(
            Company.id == membership.company.id,
            Company.verification.in_([Verification.unverified, Verification.rejected]),
        )
        .values(verification=Verification.pending, verification_note=None)
        .returning(Company.id)
    )
    if result.scalar_one_or_none() is None:
        raise DomainError("This company is already verified or waiting for a check.")
    await db.refresh(membership.company)
    # The business registry is asked once this request commits (admin review when none is set).
    defer(db, "check_company_registry", company_id=membership.company.id)
    return membership.company


async def decide_verification(db: AsyncSession, admin: User, company_id: int, *, approve: bool, note: str) -> Company:
    """Compare-and-set on `pending`: two admins deciding at once cannot both win."""
    if not approve and not note.strip():
        raise FormError({"note": ["Tell the company why, so they can fix it."]})
    if len(note.strip()) > NOTE_MAX:
        raise FormError({"note": [f"Keep the note under {NOTE_MAX} characters."]})
    result = await db.execute(
        update(Company)
        .where(Company.id == company_id, Company.verification == Verification.pending)
        .values(
            verification=Verification.verified if approve else Verification.rejected,
            verification_note=note.strip() or None,
            verified_by=admin.id,
        )
        .returning(Company.id)
    )
    if result.scalar_one_or_none() is None:
        raise DomainError("Someone already decided on this company.")
    company = await db.get(Company, company_id, populate_existing=True)
    assert company is not None
    await tell_owners_of_decision(db, company)
    return company


async def tell_owners_of_decision(db: AsyncSession, company: Company) -> None:
    """The company's owner(s) hear how its verification was decided (in the caller's transaction)."""
    owners = (
        await db.scalars(
            select(User)
            .join(CompanyMember, CompanyMember.user_id == User.id)
            .where(
                CompanyMember.company_id == company.id,
                CompanyMember.role == MemberRole.owner,
                CompanyMember.left_at.is_(None),
            )
            .order_by(User.id)
        )
    ).all()
    verified = company.verification == Verification.verified
    for owner in owners:
        await notify(
            db,
            owner,
            "company.decided",
            link=path_for("companies:mine"),
            company=company.name,
            decision="verified" if verified else "not verified",
            verified=verified,
            note=company.verification_note or "",
        )


async def invite(
    db: AsyncSession, membership: Membership, inviter: User, data: InvitationInput, *, secret_key: str
) -> Invitation:
    """A pending invitation (flushed), e-mailed to its address once the transaction commits. Its
    link is made from the row when the e-mail is sent (`invitation_token`), so the secret never
    sits in a job's arguments (ADR 0018)."""
    if inviter.email_verified_at is None:
        # An invitation is an e-mail in our name to any address: only from a confirmed sender.
        raise FormError(
            {
                "invite": [
                    "Confirm your own e-mail address before you invite anyone: open the link we sent you, "
                    "or ask for a new one at the top of the page."
                ]
            }
        )
    kind, email, job_id = data.kind, data.email, data.job_id
    if kind == InvitationKind.member and not membership.is_owner:
        raise DomainError("Only the company's owner can invite colleagues.")
    if job_id is not None:
        from app.marketplace.services import own_job

        try:
            await own_job(db, job_id, inviter)
        except NotFound:
            raise FormError({"job_id": ["Choose one of your own jobs."]}) from None
    # A fresh invitation replaces an open one to the same address.
    await db.execute(
        update(Invitation)
        .where(
            Invitation.company_id == membership.company.id,
            Invitation.email == email,
            Invitation.kind == kind,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    nonce = new_nonce()
    invitation = Invitation(
        company_id=membership.company.id,
        kind=kind,
        email=email,
        message=data.message.strip() or None,
        token_hash=digest(derive_token(secret_key, INVITATION_PURPOSE, nonce)),
        nonce=nonce,
        invited_by=inviter.id,
        job_id=job_id,
        expires_at=utcnow() + INVITATION_LIFETIME,
    )
    db.add(invitation)
    await db.flush()
    invitee = await db.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if invitee is not None and str(invitee.role) in get_kind("company.invitation").roles:
        # Someone with an account hears of it as a notification whose link needs them signed in;
        # only a new address gets the e-mail with the secret link.
        await _tell_invitee(db, invitation, membership.company, inviter, invitee)
    else:
        defer(db, "send_invitation", invitation_id=invitation.id)
    return invitation


async def _tell_invitee(db: AsyncSession, invitation: Invitation, company: Company, inviter: User, invitee: User):
    link = path_for("invitations:open", invitation_id=invitation.id)
    data = {"inviter": inviter.name, "company": company.name, "message": invitation.message or "",
            "member": invitation.kind == InvitationKind.member}  # fmt: skip
    if invitation.job_id is not None and invitee.role == Role.contractor:
        from app.marketplace.models import Job

        job = await db.get(Job, invitation.job_id)
        assert job is not None
        await notify(db, invitee, "job.invited", link=link, client=inviter.name, job=job.title, **data)
    else:
        await notify(db, invitee, "company.invitation", link=link, **data)


async def invitation_for_invitee(db: AsyncSession, invitation_id: int, user: User) -> Invitation:
    """An invitation sent to this person's own address (the link of their notification); anyone
    else's: NotFound."""
    invitation = await db.get(Invitation, invitation_id)
    if invitation is None or invitation.email.lower() != user.email.lower():
        raise NotFound(invitation_id)
    return invitation


async def ask_for_new_invitation(db: AsyncSession, invitation: Invitation, company: Company, inviter: User) -> None:
    """The invited person found their link closed: their inviter hears it once this commits."""
    await notify(db, inviter, "company.invitation_renewal", link=path_for("companies:mine"),
                 email=invitation.email, company=company.name)  # fmt: skip


def invitation_token(secret_key: str, invitation: Invitation) -> str | None:
    """The secret in the invitation's link (None for invitations made before links were derived)."""
    return derive_token(secret_key, INVITATION_PURPOSE, invitation.nonce) if invitation.nonce else None


async def find_invitation(db: AsyncSession, token: str, *, lock: bool = False) -> Invitation | None:
    query = select(Invitation).where(Invitation.token_hash == digest(token))
    return await db.scalar(query.with_for_update() if lock else query)


async def invitation_of(db: AsyncSession, membership: Membership, invitation_id: int) -> Invitation:
    """One of the company's invitations (its row on the company page); another company's: NotFound."""
    invitation = await db.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.company_id == membership.company.id)
    )
    if invitation is None:
        raise NotFound(invitation_id)
    return invitation


async def revoke(db: AsyncSession, membership: Membership, invitation_id: int) -> Invitation:
    invitation = await db.scalar(
        select(Invitation)
        .where(Invitation.id == invitation_id, Invitation.company_id == membership.company.id)
        .with_for_update()
    )
    if invitation is None:
        raise NotFound(invitation_id)
    if invitation.status(utcnow()) != "pending":
        raise DomainError("Only a pending invitation can be withdrawn.")
    invitation.revoked_at = utcnow()
    return invitation


async def accept(db: AsyncSession, token: str, user: User) -> Invitation:
    invitation = await find_invitation(db, token, lock=True)
    if invitation is None:
        raise NotFound(token)
    status = invitation.status(utcnow())
    if status != "pending":
        raise DomainError(
            {
                "accepted": "This invitation was already used.",
                "revoked": "This invitation was withdrawn.",
                "expired": "This invitation has expired.",
            }[status]
        )
    if invitation.kind == InvitationKind.contractor:
        if user.role != Role.contractor:
            raise DomainError(
                "This invitation is for a contractor account. Sign in with the contractor account it was sent to."
            )
        exists = await db.scalar(
            select(CompanyContractor).where(
                CompanyContractor.company_id == invitation.company_id, CompanyContractor.user_id == user.id
            )
        )
        if exists is None:
            db.add(CompanyContractor(company_id=invitation.company_id, user_id=user.id))
        if invitation.job_id is not None:
            from app.marketplace.services import invite_to_job

            inviter = await db.get(User, invitation.invited_by)
            try:
                await invite_to_job(db, invitation.job_id, inviter, user)
            except NotFound:
                invitation.job_id = None  # the job is gone; the invitation still adds them to the list
    else:
        if user.role != Role.client:
            raise DomainError("Only client accounts can join a company as a member.")
        if await membership_of(db, user) is not None:
            raise DomainError("You already belong to a company. Leave it first to join another.")
        db.add(CompanyMember(company_id=invitation.company_id, user_id=user.id, role=MemberRole.member))
    invitation.accepted_at = utcnow()
    invitation.accepted_user_id = user.id
    inviter = await db.get(User, invitation.invited_by)
    company = await db.get(Company, invitation.company_id)
    if inviter is not None and company is not None and inviter.id != user.id:
        await notify(
            db,
            inviter,
            "company.invitation_accepted",
            link=path_for("companies:mine"),
            member=user.name,
            company=company.name,
            member_kind=str(invitation.kind),
        )
    return invitation


async def leave(db: AsyncSession, membership: Membership) -> None:
    if membership.is_owner:
        raise DomainError("The owner cannot leave the company.")
    membership.member.left_at = utcnow()


async def company_page_data(db: AsyncSession, company: Company) -> dict:
    members = (
        await db.execute(
            select(User, CompanyMember)
            .join(CompanyMember, CompanyMember.user_id == User.id)
            .where(CompanyMember.company_id == company.id, CompanyMember.left_at.is_(None))
            .order_by(CompanyMember.id)
        )
    ).all()
    contractors = (
        await db.scalars(
            select(User)
            .join(CompanyContractor, CompanyContractor.user_id == User.id)
            .where(CompanyContractor.company_id == company.id)
        )
    ).all()
    invitations = (
        await db.scalars(
            select(Invitation).where(Invitation.company_id == company.id).order_by(Invitation.id.desc()).limit(50)
        )
    ).all()
    return {"members": members, "contractors": contractors, "invitations": invitations}
