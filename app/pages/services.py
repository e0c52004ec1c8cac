"""What each role's home shows, gathered from the features' own services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.companies.models import Invitation
from app.companies.services import membership_of
from app.contracts.services import next_steps
from app.db import utcnow
from app.escrow.views import dashboard_milestones
from app.marketplace.models import Job, JobStatus, Proposal, Visibility
from app.marketplace.services import jobs_of, proposals_of
from app.profiles.services import completeness, get_profile, portfolio_of

RECOMMENDED = 5


async def client_home(db: AsyncSession, user: User) -> dict[str, Any]:
    jobs = await jobs_of(db, user)
    membership = await membership_of(db, user)
    invitations = []
    if membership is not None:
        invitations = list(
            (
                await db.scalars(
                    select(Invitation)
                    .where(Invitation.company_id == membership.company.id)
                    .order_by(Invitation.id.desc())
                    .limit(5)
                )
            ).all()
        )
    return {
        "open_jobs": [(job, count) for job, count in jobs if job.status in (JobStatus.open, JobStatus.draft)][:10],
        "membership": membership,
        "invitations": invitations,
        "now": utcnow(),
        "contracts": await next_steps(db, user),
        **await dashboard_milestones(db, user),
    }


async def contractor_home(db: AsyncSession, user: User) -> dict[str, Any]:
    profile = await get_profile(db, user.id)
    portfolio = await portfolio_of(db, profile) if profile is not None else []
    proposals = await proposals_of(db, user)
    applied = select(Proposal.job_id).where(Proposal.contractor_id == user.id)
    recommended: list[Job] = []
    if profile is not None and profile.skills:
        recommended = list(
            (
                await db.scalars(
                    select(Job)
                    .where(
                        Job.status == JobStatus.open,
                        Job.visibility == Visibility.public,
                        Job.skills.overlap(profile.skills),
                        Job.id.not_in(applied),
                    )
                    .order_by(Job.published_at.desc())
                    .limit(RECOMMENDED)
                )
            )
            .unique()
            .all()
        )
    return {
        "matches_since": epoch_ms(utcnow()),
        "profile": profile,
        "completeness": completeness(profile, len(portfolio)) if profile is not None else None,
        "proposals": proposals[:10],
        "recommended": recommended,
        "contracts": await next_steps(db, user),
        **await dashboard_milestones(db, user),
    }


NEW_MATCHES = 20


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def jobs_matched_since(db: AsyncSession, user: User, since_ms: int) -> list[Job]:
    """Public jobs opened after `since_ms` (epoch milliseconds) whose skills overlap the
    contractor's: the dashboard's live list, re-fetched on each "job-match" signal."""
    profile = await get_profile(db, user.id)
    if profile is None or not profile.skills:
        return []
    since = datetime.fromtimestamp(since_ms / 1000, tz=UTC)
    query = (
        select(Job)
        .where(
            Job.status == JobStatus.open,
            Job.visibility == Visibility.public,
            Job.skills.overlap(profile.skills),
            Job.published_at > since,
        )
        .order_by(Job.published_at.desc())
        .limit(NEW_MATCHES)
    )
    return list((await db.scalars(query)).unique().all())
