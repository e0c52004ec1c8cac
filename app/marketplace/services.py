"""Marketplace rules: posting and publishing jobs, searching them, applying and deciding on proposals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import ensure_verified
from app.accounts.models import Role, User
from app.db import utcnow
from app.errors import DomainError, FormError, NotFound
from app.events import publish
from app.marketplace.forms import POSTED_WITHIN, JobInput, ProposalInput, SearchInput
from app.marketplace.models import (
    ACTIVE_PROPOSAL,
    Job,
    JobInvite,
    JobStatus,
    Proposal,
    ProposalStatus,
    ProposedMilestone,
    Visibility,
)
from app.money import format_minor
from app.notifications import notify
from app.web.urls import path_for

PAGE_SIZE = 20
DECIDABLE = (ProposalStatus.submitted, ProposalStatus.shortlisted)


# ---------------------------------------------------------------- jobs


async def create_job(db: AsyncSession, client: User, data: JobInput, *, publish_now: bool = False) -> Job:
    if client.role != Role.client:
        raise DomainError("Only clients can post jobs.")
    if publish_now:
        ensure_verified(client)
    now = utcnow()
    job = Job(
        client_id=client.id,
        title=data.title,
        description=data.description,
        skills=data.skills,
        budget_type=data.budget_type,
        budget_minor=data.budget.amount_minor,
        currency=data.budget.currency,
        deadline=data.deadline,
        visibility=data.visibility,
        status=JobStatus.open if publish_now else JobStatus.draft,
        published_at=now if publish_now else None,
    )
    db.add(job)
    await db.flush()
    if publish_now:
        await announce_to_matching_contractors(db, job)
    return job


ANNOUNCE_LIMIT = 200


async def announce_to_matching_contractors(db: AsyncSession, job: Job) -> int:
    """A newly opened public job appears live on the dashboards of contractors whose profile
    skills overlap its skills (e-mail digests come with the notifications feature)."""
    from app.profiles.models import ContractorProfile

    if job.visibility != Visibility.public or not job.skills:
        return 0
    user_ids = (
        await db.scalars(
            select(ContractorProfile.user_id)
            .join(User, User.id == ContractorProfile.user_id)
            .where(ContractorProfile.skills.overlap(job.skills), User.status == "active")
            .limit(ANNOUNCE_LIMIT)
        )
    ).all()
    # A signal: each open dashboard re-fetches its list of new matches (GET /dashboard/matches).
    for user_id in user_ids:
        publish(db, user_id, "job-match", {"job_id": job.id})
    return len(user_ids)


async def update_job(db: AsyncSession, job: Job, data: JobInput) -> Job:
    if job.status not in (JobStatus.draft, JobStatus.open):
        raise DomainError("This job is no longer open, so it can't be changed.")
    if data.budget.currency != job.currency and await _proposal_count(db, job.id):
        raise FormError({"currency": ["Contractors have already applied in this currency, so it can't change."]})
    job.title, job.description, job.skills = data.title, data.description, data.skills
    job.budget_type, job.budget_minor, job.currency = data.budget_type, data.budget.amount_minor, data.budget.currency
    job.deadline, job.visibility = data.deadline, data.visibility
    await db.flush()
    return job


async def _proposal_count(db: AsyncSession, job_id: int) -> int:
    return await db.scalar(select(func.count()).select_from(Proposal).where(Proposal.job_id == job_id)) or 0


async def publish_job(db: AsyncSession, job_id: int, client: User) -> Job:
    await own_job(db, job_id, client)
    ensure_verified(client)
    changed = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.client_id == client.id, Job.status == JobStatus.draft)
        .values(status=JobStatus.open, published_at=utcnow())
    )
    if changed.rowcount != 1:
        raise DomainError("Only a draft can be published. Reload the page to see the job's current state.")
    job = await own_job(db, job_id, client)
    await announce_to_matching_contractors(db, job)
    return job


async def close_job(db: AsyncSession, job_id: int, client: User) -> Job:
    """Open → closed: no new proposals; proposals still waiting are declined with a note."""
    job = await _lock_own_job(db, job_id, client)
    if job.status != JobStatus.open:
        raise DomainError("Only an open job can be closed.")
    job.status, job.closed_at = JobStatus.closed, utcnow()
    for other in await _waiting_proposals(db, job.id):
        _set_status(db, other, ProposalStatus.declined, note="The client closed this job.")
    await db.flush()
    return job


async def own_job(db: AsyncSession, job_id: int, client: User) -> Job:
    job = await db.get(Job, job_id, populate_existing=True)
    if job is None or job.client_id != client.id:
        raise NotFound()
    return job


async def _lock_own_job(db: AsyncSession, job_id: int, client: User) -> Job:
    job = await db.scalar(
        select(Job).where(Job.id == job_id).with_for_update(of=Job).execution_options(populate_existing=True)
    )
    if job is None or job.client_id != client.id:
        raise NotFound()
    return job


def can_see(job: Job, user: User | None) -> bool:
    """Draft and invite-only jobs exist only for their owner; open public ones for everyone;
    closed and filled public ones for those who applied and the owner."""
    if user is not None and job.client_id == user.id:
        return True
    return job.visibility == Visibility.public and job.status == JobStatus.open


async def invited(db: AsyncSession, job: Job, user: User | None) -> bool:
    """Invited contractors see an open job even when it is invite-only."""
    if user is None or job.status != JobStatus.open:
        return False
    return (
        await db.scalar(select(JobInvite.id).where(JobInvite.job_id == job.id, JobInvite.user_id == user.id))
        is not None
    )


async def invite_to_job(db: AsyncSession, job_id: int, client: User, contractor: User) -> JobInvite:
    """Called when a contractor accepts an invitation that names one of the client's jobs."""
    job = await own_job(db, job_id, client)
    row = await db.scalar(select(JobInvite).where(JobInvite.job_id == job.id, JobInvite.user_id == contractor.id))
    if row is None:
        row = JobInvite(job_id=job.id, user_id=contractor.id)
        db.add(row)
        await db.flush()
    return row


async def visible_job(db: AsyncSession, job_id: int, user: User | None) -> Job:
    job = await db.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFound()
    if can_see(job, user) or await invited(db, job, user):
        return job
    if user is not None and job.visibility == Visibility.public and job.status != JobStatus.draft:
        if await proposal_of(db, job.id, user) is not None:
            return job
    raise NotFound()


async def jobs_of(db: AsyncSession, client: User) -> list[tuple[Job, int]]:
    counts = (
        select(Proposal.job_id, func.count().label("n"))
        .where(Proposal.status.in_(ACTIVE_PROPOSAL))
        .group_by(Proposal.job_id)
        .subquery()
    )
    rows = await db.execute(
        select(Job, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.job_id == Job.id)
        .where(Job.client_id == client.id)
        .order_by(Job.id.desc())
    )
    return [(job, n) for job, n in rows.all()]


# ---------------------------------------------------------------- search


def _search_query(params: SearchInput) -> tuple[Select, Any]:
    stmt = select(Job).where(Job.status == JobStatus.open, Job.visibility == Visibility.public)
    tsquery = None
    if params.q:
        tsquery = func.websearch_to_tsquery("english", params.q)
        stmt = stmt.where(Job.search.op("@@")(tsquery))
    if params.skills:
        stmt = stmt.where(Job.skills.overlap(params.skills))
    if params.budget_type:
        stmt = stmt.where(Job.budget_type == params.budget_type)
    # Budgets are compared by amount, whatever the job's currency (EUR, USD and GBP are close).
    if params.budget_min is not None:
        stmt = stmt.where(Job.budget_minor >= params.budget_min.amount_minor)
    if params.budget_max is not None:
        stmt = stmt.where(Job.budget_minor <= params.budget_max.amount_minor)
    if params.posted:
        stmt = stmt.where(Job.published_at >= utcnow() - timedelta(days=POSTED_WITHIN[params.posted]))
    return stmt, tsquery


async def search_jobs(db: AsyncSession, params: SearchInput) -> tuple[list[Job], int]:
    stmt, tsquery = _search_query(params)
    if params.sort == "relevance" and tsquery is not None:
        order = [func.ts_rank_cd(Job.search, tsquery).desc(), Job.published_at.desc(), Job.id.desc()]
    elif params.sort == "budget_high":
        order = [Job.budget_minor.desc(), Job.id.desc()]
    elif params.sort == "budget_low":
        order = [Job.budget_minor.asc(), Job.id.desc()]
    else:
        order = [Job.published_at.desc(), Job.id.desc()]
    offset = (params.page - 1) * PAGE_SIZE
    if tsquery is not None:
        # Every match is read to rank it anyway: take the total from the same scan (window count).
        page = stmt.add_columns(func.count().over().label("total"))
        rows = (await db.execute(page.order_by(*order).limit(PAGE_SIZE).offset(offset))).all()
        if rows:
            return [row[0] for row in rows], int(rows[0][1])
    else:
        # Without words the newest-first index answers the page alone; the count is a second query.
        jobs = list((await db.scalars(stmt.order_by(*order).limit(PAGE_SIZE).offset(offset))).unique())
        if jobs or params.page == 1:
            total = await db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            return jobs, total
    return [], await db.scalar(select(func.count()).select_from(stmt.subquery())) or 0


# ---------------------------------------------------------------- proposals


async def proposal_of(db: AsyncSession, job_id: int, contractor: User) -> Proposal | None:
    """The contractor's active proposal for a job, else their latest one, else None."""
    rows = (
        await db.scalars(
            select(Proposal)
            .where(Proposal.job_id == job_id, Proposal.contractor_id == contractor.id)
            .order_by(Proposal.id.desc())
        )
    ).all()
    return next((p for p in rows if p.is_active), rows[0] if rows else None)


async def apply(db: AsyncSession, job_id: int, contractor: User, data: ProposalInput) -> Proposal:
    if contractor.role != Role.contractor:
        raise NotFound()
    job = await db.scalar(
        select(Job).where(Job.id == job_id).with_for_update(of=Job, read=True).execution_options(populate_existing=True)
    )
    if job is None or not (can_see(job, contractor) or await invited(db, job, contractor)):
        raise NotFound()
    ensure_verified(contractor)
    existing = await proposal_of(db, job_id, contractor)
    if existing is not None and existing.is_active:
        raise DomainError("You already have a proposal for this job. Withdraw it first to send a new one.")
    proposal = Proposal(
        job_id=job.id,
        contractor_id=contractor.id,
        cover_letter=data.cover_letter,
        amount_minor=data.amount.amount_minor,
        currency=job.currency,
        status=ProposalStatus.submitted,
    )
    proposal.milestones = [
        ProposedMilestone(
            position=n, title=m.title, amount_minor=m.amount.amount_minor, currency=job.currency, due_date=m.due_date
        )
        for n, m in enumerate(data.milestones, start=1)
    ]
    db.add(proposal)
    try:
        await db.flush()
    except IntegrityError as exc:  # a second tab sent one a moment ago
        raise DomainError("You already have a proposal for this job.") from exc
    # A signal: the owner's open comparison page re-fetches its list of new arrivals.
    publish(db, job.client_id, f"job-{job.id}-proposals", {"proposal_id": proposal.id})
    await notify(
        db,
        job.client_id,
        "proposal.received",
        link=proposal_path(proposal),
        contractor=contractor.name,
        job=job.title,
        amount=format_minor(proposal.amount_minor, proposal.currency),
    )
    return proposal


def proposal_path(proposal: Proposal) -> str:
    return path_for("proposals:detail", proposal_id=proposal.id)


async def _tell_contractor(db: AsyncSession, proposal: Proposal, kind: str, client: User) -> None:
    """The contractor hears of the client's decision on their proposal (in this transaction)."""
    await notify(
        db,
        proposal.contractor,
        kind,
        link=proposal_path(proposal),
        client=client.name,
        job=proposal.job.title,
        note=proposal.decline_note or "",
        accepted=kind == "proposal.accepted",
    )


async def _lock_proposal(db: AsyncSession, proposal_id: int) -> Proposal:
    proposal = await db.scalar(
        select(Proposal)
        .where(Proposal.id == proposal_id)
        .with_for_update(of=Proposal)
        .execution_options(populate_existing=True)
    )
    if proposal is None:
        raise NotFound()
    return proposal


async def withdraw(db: AsyncSession, proposal_id: int, contractor: User) -> Proposal:
    proposal = await _lock_proposal(db, proposal_id)
    if proposal.contractor_id != contractor.id:
        raise NotFound()
    if proposal.status == ProposalStatus.accepted:
        raise DomainError("The client already accepted this proposal, so it can't be withdrawn.")
    if proposal.status not in DECIDABLE:
        raise DomainError(f"This proposal is already {proposal.status}.")
    _set_status(db, proposal, ProposalStatus.withdrawn)
    await db.flush()
    return proposal


async def _client_proposal(db: AsyncSession, proposal_id: int, client: User) -> tuple[Job, Proposal]:
    """Locks the job, then the proposal (always in this order, so decisions serialise per job)."""
    found = await db.get(Proposal, proposal_id)
    if found is None:
        raise NotFound()
    job = await _lock_own_job(db, found.job_id, client)
    return job, await _lock_proposal(db, proposal_id)


async def shortlist(db: AsyncSession, proposal_id: int, client: User) -> Proposal:
    job, proposal = await _client_proposal(db, proposal_id, client)
    if proposal.status != ProposalStatus.submitted:
        raise DomainError(f"Only a new proposal can be shortlisted; this one is {proposal.status}.")
    _set_status(db, proposal, ProposalStatus.shortlisted)
    await db.flush()
    await _tell_contractor(db, proposal, "proposal.shortlisted", client)
    return proposal


async def decline(db: AsyncSession, proposal_id: int, client: User, note: str = "") -> Proposal:
    job, proposal = await _client_proposal(db, proposal_id, client)
    if proposal.status not in DECIDABLE:
        raise DomainError(f"This proposal is {proposal.status}, so it can't be declined.")
    _set_status(db, proposal, ProposalStatus.declined, note=note.strip()[:1000] or None)
    await db.flush()
    await _tell_contractor(db, proposal, "proposal.declined", client)
    return proposal


async def accept(db: AsyncSession, proposal_id: int, client: User) -> Proposal:
    """Hire: the proposal is accepted, the job is filled and the other waiting proposals are
    declined. The contract is drafted from it by the contracts feature (next step)."""
    ensure_verified(client)
    job, proposal = await _client_proposal(db, proposal_id, client)
    if proposal.status not in DECIDABLE:
        raise DomainError(f"This proposal is {proposal.status}, so it can't be accepted.")
    if job.status != JobStatus.open:
        raise DomainError(f"This job is {job.status}, so no proposal can be accepted.")
    _set_status(db, proposal, ProposalStatus.accepted)
    job.status, job.closed_at = JobStatus.filled, utcnow()
    others = await _waiting_proposals(db, job.id)
    for other in others:
        _set_status(db, other, ProposalStatus.declined, note="The client hired someone else for this job.")
    await db.flush()
    await _tell_contractor(db, proposal, "proposal.accepted", client)
    for other in others:
        await _tell_contractor(db, other, "proposal.declined", client)
    return proposal


async def _waiting_proposals(db: AsyncSession, job_id: int) -> list[Proposal]:
    return list(
        (
            await db.scalars(
                select(Proposal)
                .where(Proposal.job_id == job_id, Proposal.status.in_(DECIDABLE))
                .with_for_update(of=Proposal)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


def _set_status(db: AsyncSession, proposal: Proposal, status: ProposalStatus, *, note: str | None = None) -> None:
    proposal.status = status
    if status in (ProposalStatus.accepted, ProposalStatus.declined):
        proposal.decided_at = utcnow()
    if note is not None:
        proposal.decline_note = note
    # A signal: each open page re-fetches the status line (GET /proposals/<id>/status).
    job = proposal.job
    for user_id in {proposal.contractor_id, job.client_id}:
        publish(db, user_id, f"proposal-{proposal.id}", {"status": status.value})


async def proposals_for_job(db: AsyncSession, job: Job) -> list[Proposal]:
    order = {ProposalStatus.accepted: 0, ProposalStatus.shortlisted: 1, ProposalStatus.submitted: 2}
    rows = (await db.scalars(select(Proposal).where(Proposal.job_id == job.id).order_by(Proposal.id))).unique().all()
    return sorted(rows, key=lambda p: (order.get(ProposalStatus(p.status), 3), p.id))


async def proposals_after(db: AsyncSession, job: Job, after: int) -> list[Proposal]:
    """Proposals for `job` newer than id `after`, newest first (the comparison page's live list)."""
    query = select(Proposal).where(Proposal.job_id == job.id, Proposal.id > after).order_by(Proposal.id.desc())
    return list((await db.scalars(query.limit(50))).unique().all())


async def profiles_for(db: AsyncSession, proposals: list[Proposal]) -> dict[int, Any]:
    """Each applicant's contractor profile (rate, identity check, public address), if they have one."""
    from app.profiles.services import get_profile

    return {p.contractor_id: await get_profile(db, p.contractor_id) for p in proposals}


async def proposals_of(db: AsyncSession, contractor: User) -> list[Proposal]:
    rows = await db.scalars(
        select(Proposal).where(Proposal.contractor_id == contractor.id).order_by(Proposal.id.desc())
    )
    return list(rows.unique().all())


async def proposal_for_viewer(db: AsyncSession, proposal_id: int, user: User) -> Proposal:
    """The contractor who sent it and the job's owner; everyone else: not found."""
    proposal = await db.get(Proposal, proposal_id, populate_existing=True)
    if proposal is None or user.id not in (proposal.contractor_id, proposal.job.client_id):
        raise NotFound()
    return proposal
