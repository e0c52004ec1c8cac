"""Worker side of companies: ask the business registry, when one is configured; send invitations."""

from __future__ import annotations

from sqlalchemy import update

from app.accounts.models import User
from app.companies.models import Company, Invitation, InvitationKind, Verification
from app.companies.registry import registry_for, same_name
from app.companies.services import invitation_token, tell_owners_of_decision
from app.db import utcnow
from app.mail.services import build_message, deliver
from app.web.urls import path_for
from app.worker.registry import task


@task(retries=3, retry_delay=5.0, max_delay=120.0, timeout=60)
async def check_company_registry(ctx: dict, *, company_id: int) -> str:
    registry = registry_for(ctx["settings"])
    async with ctx["sessionmaker"]() as db:
        company = await db.get(Company, company_id)
        if company is None or company.verification != Verification.pending:
            return "not pending"
        answer = await registry.look_up(company.country, company.registration_number)
        if answer is None:
            return "left for an administrator"
        matched = answer.found and answer.active and same_name(company.name, answer.name)
        note = (f"Registry name: {answer.name}. " if answer.name else "") + answer.note
        values: dict = {"registry_note": note[:500]}
        if matched:
            values |= {
                "verification": Verification.verified,
                "verification_note": "Matched the company register automatically.",
            }
        # Compare-and-set: an administrator may have decided in the meantime.
        changed = await db.execute(
            update(Company)
            .where(Company.id == company_id, Company.verification == Verification.pending)
            .values(**values)
            .returning(Company.id)
        )
        if matched and changed.scalar_one_or_none() is not None:
            await tell_owners_of_decision(db, await db.get(Company, company_id, populate_existing=True))
        await db.commit()
        return "verified" if matched else "left for an administrator"


@task(retries=6, retry_delay=5.0, max_delay=1800.0, timeout=60)
async def send_invitation(ctx: dict, *, invitation_id: int) -> str:
    """E-mail an invitation's link, made here from the row; nothing is sent once it was
    accepted, withdrawn, replaced or has expired."""
    settings = ctx["settings"]
    async with ctx["sessionmaker"]() as db:
        invitation = await db.get(Invitation, invitation_id)
        company = await db.get(Company, invitation.company_id) if invitation else None
        inviter = await db.get(User, invitation.invited_by) if invitation else None
    if invitation is None or company is None or inviter is None or invitation.status(utcnow()) != "pending":
        return "skipped: the invitation is no longer open"
    token = invitation_token(settings.secret_key, invitation)
    if token is None:
        return "skipped: no nonce"
    template = "invitation_member" if invitation.kind == InvitationKind.member else "invitation_contractor"
    message = build_message(
        settings,
        to=invitation.email,
        subject=f"{inviter.name} invites you to work with {company.name} on Pactline",
        template=template,
        context={
            "inviter": inviter.name,
            "company": company.name,
            "message": invitation.message or "",
            "link": settings.app_base_url + path_for("invitations:show", token=token),
        },
    )
    await deliver(settings, message)
    return str(message["Message-ID"])
